// The store's CRC-32 is plain TypeScript; it must agree with zlib's (the same polynomial Mosquitto's
// tools and every zip file use), over whole buffers and over ranges read in place.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import zlib from 'node:zlib'
import { crc32 } from '../../lib/store/crc32'

test('crc32 matches the standard check value and zlib over 200 random buffers and ranges', () => {
  // The check value of the CRC-32/ISO-HDLC catalogue entry.
  assert.equal(crc32(Buffer.from('123456789')), 0xCBF43926)
  assert.equal(crc32(Buffer.alloc(0)), 0)
  const reference = (zlib as { crc32?: (data: Uint8Array) => number }).crc32
  for (let i = 0; i < 200; i++) {
    const data = randomBytes(1 + (i * 37) % 3000)
    const start = i % 7
    const end = Math.max(start, data.length - (i % 5))
    if (reference !== undefined) {
      assert.equal(crc32(data), reference(data))
      assert.equal(crc32(data, start, end), reference(data.subarray(start, end)))
    } else {
      assert.equal(crc32(data, start, end), crc32(Buffer.from(data.subarray(start, end))))
    }
  }
})

test('crc32 agrees with a byte-at-a-time CRC on every short range, across the 8-byte steps', () => {
  const data = randomBytes(64)
  const byteAtATime = (start: number, end: number): number => {
    let crc = -1
    for (let i = start; i < end; i++) {
      crc ^= data[i] as number
      for (let k = 0; k < 8; k++) crc = (crc & 1) !== 0 ? 0xEDB88320 ^ (crc >>> 1) : crc >>> 1
    }
    return (crc ^ -1) >>> 0
  }
  for (let start = 0; start < 9; start++) {
    for (let end = start; end <= 40; end++) assert.equal(crc32(data, start, end), byteAtATime(start, end), `range ${start}..${end}`)
  }
})
