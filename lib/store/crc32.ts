// CRC-32 (IEEE 802.3, the zlib polynomial) for the disk store's records, in plain TypeScript so
// the store never needs a native module. It reads a range of a buffer in place: a record's
// checksum costs no allocation (node's zlib.crc32, where it exists, wants a buffer of its own,
// and for records of a few dozen bytes the call costs more than the sum).
//
// Eight bytes per step ("slicing by 8"): eight tables, where TABLES[k][b] is the CRC of byte b
// followed by k zero bytes, fold eight input bytes into the CRC with eight lookups and no
// dependency between them, about three times the speed of a byte at a time on records of a
// hundred bytes and more, and on the megabytes a restart reads.

const TABLES: Int32Array[] = []
for (let k = 0; k < 8; k++) TABLES.push(new Int32Array(256))
const T0 = TABLES[0] as Int32Array
for (let n = 0; n < 256; n++) {
  let c = n
  for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1
  T0[n] = c
}
for (let n = 0; n < 256; n++) {
  let c = T0[n] as number
  for (let k = 1; k < 8; k++) {
    c = (T0[c & 0xFF] as number) ^ (c >>> 8)
    ;(TABLES[k] as Int32Array)[n] = c
  }
}
const [, T1, T2, T3, T4, T5, T6, T7] = TABLES as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array]

/** The CRC-32 of `data[start, end)`, as an unsigned 32-bit number. */
export function crc32 (data: Uint8Array, start = 0, end = data.length): number {
  let crc = -1
  let i = start
  for (const last = end - 8; i <= last; i += 8) {
    const low = crc ^ ((data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16) | ((data[i + 3] as number) << 24))
    crc = (T7[low & 0xFF] as number) ^ (T6[(low >>> 8) & 0xFF] as number) ^
      (T5[(low >>> 16) & 0xFF] as number) ^ (T4[low >>> 24] as number) ^
      (T3[data[i + 4] as number] as number) ^ (T2[data[i + 5] as number] as number) ^
      (T1[data[i + 6] as number] as number) ^ (T0[data[i + 7] as number] as number)
  }
  for (; i < end; i++) crc = (T0[(crc ^ (data[i] as number)) & 0xFF] as number) ^ (crc >>> 8)
  return (crc ^ -1) >>> 0
}
