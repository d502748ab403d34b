// The framer's bound on unfinished packets, on a mocked clock: a packet whose sender falls silent
// is given up after the timeout, one that keeps arriving (however slowly) never is, and neither is
// one held back while the framer is paused. One timer per period, never one per chunk.
import assert from 'node:assert/strict'
import { type TestContext, test } from 'node:test'
import { FrameError, type FrameSink, Framer } from '../../lib/codec/framer'

const TIMEOUT_MS = 1000

interface Recorded { frames: number[], errors: Array<[FrameError, number, number]> }

function framer (t: TestContext, timeoutMs = TIMEOUT_MS): { framer: Framer, seen: Recorded } {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 })
  t.after(() => { t.mock.timers.reset() })
  const seen: Recorded = { frames: [], errors: [] }
  const sink: FrameSink = {
    onFrame (firstByte) { seen.frames.push(firstByte) },
    onFrameError (error, declared, received) { seen.errors.push([error, declared, received]) }
  }
  return { framer: new Framer(sink, 1_000_000, timeoutMs), seen }
}

/** A QoS 0 PUBLISH of `payloadBytes` to topic 't': 2 header bytes while under 128 bytes long. */
function publish (payloadBytes: number): Buffer {
  return Buffer.concat([Buffer.from([0x30, 3 + payloadBytes, 0x00, 0x01, 0x74]), Buffer.alloc(payloadBytes, 0x61)])
}

test('a packet whose sender falls silent is given up after the timeout, with what had arrived of it', (t) => {
  const { framer: f, seen } = framer(t)
  const packet = publish(100)
  f.push(packet.subarray(0, 40))
  t.mock.timers.tick(TIMEOUT_MS - 1)
  assert.deepEqual(seen.errors, [])
  t.mock.timers.tick(1)
  assert.deepEqual(seen.errors, [[FrameError.Incomplete, packet.length, 40]])
  // Stopped: the rest of it is ignored.
  f.push(packet.subarray(40))
  assert.deepEqual(seen.frames, [])
})

test('a packet cut short inside its fixed header is given up too (its size is not known yet)', (t) => {
  const { framer: f, seen } = framer(t)
  f.push(Buffer.from([0x30]))
  t.mock.timers.tick(TIMEOUT_MS)
  assert.deepEqual(seen.errors, [[FrameError.Incomplete, 0, 1]])
})

test('a slow sender that keeps sending is never cut off, however long the whole packet takes', (t) => {
  const { framer: f, seen } = framer(t)
  const packet = publish(100)
  // One byte every 0.9 timeouts: 103 bytes over about 93 timeouts in all.
  for (let i = 0; i < packet.length; i++) {
    f.push(packet.subarray(i, i + 1))
    t.mock.timers.tick(TIMEOUT_MS * 0.9)
  }
  assert.deepEqual(seen.errors, [])
  assert.deepEqual(seen.frames, [0x30])
  // Nothing unfinished: silence from here on is the keepalive's business, not the framer's.
  t.mock.timers.tick(TIMEOUT_MS * 10)
  assert.deepEqual(seen.errors, [])
})

test('each new unfinished packet gets the whole timeout, counted from its own latest byte', (t) => {
  const { framer: f, seen } = framer(t)
  const first = publish(10)
  const second = publish(20)
  // The first packet's end and the start of the second arrive together.
  f.push(first.subarray(0, 5))
  t.mock.timers.tick(TIMEOUT_MS * 0.6)
  f.push(Buffer.concat([first.subarray(5), second.subarray(0, 3)]))
  t.mock.timers.tick(TIMEOUT_MS * 0.6)
  assert.deepEqual(seen.errors, [])
  assert.deepEqual(seen.frames, [0x30])
  t.mock.timers.tick(TIMEOUT_MS * 0.4)
  assert.deepEqual(seen.errors, [[FrameError.Incomplete, second.length, 3]])
})

test('a packet held back while the framer is paused (CONNECT being authenticated) is not given up', (t) => {
  const { framer: f, seen } = framer(t)
  const packet = publish(50)
  f.pause()
  f.push(packet.subarray(0, 10))
  t.mock.timers.tick(TIMEOUT_MS * 5)
  assert.deepEqual(seen.errors, [])
  // Resumed: the clock starts again from the resume, not from the bytes that waited.
  f.resume()
  t.mock.timers.tick(TIMEOUT_MS * 0.9)
  f.push(packet.subarray(10))
  assert.deepEqual([seen.frames, seen.errors], [[0x30], []])
})

test('stop() disarms the watch; a timeout of 0 never arms one', (t) => {
  const { framer: stopped, seen } = framer(t)
  stopped.push(publish(10).subarray(0, 4))
  stopped.stop()
  t.mock.timers.tick(TIMEOUT_MS * 2)
  assert.deepEqual(seen.errors, [])
  const errors: FrameError[] = []
  const patient = new Framer({ onFrame () {}, onFrameError (error) { errors.push(error) } }, 1_000_000, 0)
  patient.push(publish(10).subarray(0, 4))
  t.mock.timers.tick(TIMEOUT_MS * 1000)
  assert.deepEqual(errors, [])
})
