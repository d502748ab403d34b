// CRC-32 (IEEE 802.3, the zlib polynomial) for the disk store's records: node's zlib.crc32 where
// the runtime has it (Node 20.15 and later), a table-driven one in plain TypeScript otherwise, so
// the store never needs a native module.
import zlib from 'node:zlib'

type Crc32 = (data: Uint8Array) => number

function tableCrc32 (): Crc32 {
  const table = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1
    table[n] = c
  }
  return (data) => {
    let crc = -1
    for (let i = 0; i < data.length; i++) crc = (table[(crc ^ (data[i] as number)) & 0xFF] as number) ^ (crc >>> 8)
    return (crc ^ -1) >>> 0
  }
}

const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32

/** The CRC-32 of `data`, as an unsigned 32-bit number. */
export const crc32: Crc32 = typeof native === 'function' ? (data) => native(data) : tableCrc32()

/** The plain-TypeScript implementation, exported so a test can hold it against zlib's. */
export const portableCrc32: Crc32 = tableCrc32()
