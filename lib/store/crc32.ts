// CRC-32 (IEEE 802.3, the zlib polynomial) for the disk store's records, in plain TypeScript so
// the store never needs a native module. It reads a range of a buffer in place: a record's
// checksum costs no allocation (node's zlib.crc32, where it exists, wants a buffer of its own,
// and for records of a few dozen bytes the call costs more than the sum).

const TABLE = new Int32Array(256)
for (let n = 0; n < 256; n++) {
  let c = n
  for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1
  TABLE[n] = c
}

/** The CRC-32 of `data[start, end)`, as an unsigned 32-bit number. */
export function crc32 (data: Uint8Array, start = 0, end = data.length): number {
  let crc = -1
  for (let i = start; i < end; i++) crc = (TABLE[(crc ^ (data[i] as number)) & 0xFF] as number) ^ (crc >>> 8)
  return (crc ^ -1) >>> 0
}
