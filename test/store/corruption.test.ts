// A damaged store still opens, and keeps every record the damage did not touch: one byte flipped
// at each of 1,000 random offsets of a log and a snapshot, and the files cut short at random
// lengths (a torn write). The broker starts on every one of them.
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { createBroker } from '../../lib'
import { DiskStore } from '../../lib/store/disk'
import { FieldReader, FRAME_HEADER_BYTES, readFrames } from '../../lib/store/frame'
import { decodeRecord, type RecordSink } from '../../lib/store/record-codec'
import type { Message } from '../../lib/types'
import { RecordingLogger } from '../helpers/broker'
import { seededRandom } from '../engine/bad-input/prng'

const TOPICS = 150

function retainedMessage (i: number): Message {
  return { id: i + 1, topic: `kept/${i}`, payload: Buffer.from(`payload ${i} `.repeat(1 + (i % 5))), qos: 1, retain: true }
}

/** Writes TOPICS retained messages (a body and a retained record each) and returns the one file. */
async function pristineStore (dir: string, compact: boolean): Promise<string> {
  const store = new DiskStore({ directory: dir, sync: 'never', compactAfterBytes: compact ? 1 : undefined })
  await store.open()
  for (let i = 0; i < TOPICS; i++) store.retained.set(retainedMessage(i))
  await store.close()
  if (compact) {
    // Reopened with a threshold of one byte, the store folds its log into a snapshot.
    const again = new DiskStore({ directory: dir, sync: 'never', compactAfterBytes: 1 })
    await again.open()
    again.retained.set({ ...retainedMessage(0), id: 10_000 })
    for (let attempt = 0; attempt < 500 && !readdirSync(dir).some((name) => name.endsWith('.snap')); attempt++) await new Promise((resolve) => setTimeout(resolve, 10))
    await again.close()
  }
  const files = readdirSync(dir).filter((name) => name.endsWith(compact ? '.snap' : '.log')).map((name) => path.join(dir, name))
  assert.equal(files.length, 1, readdirSync(dir).join(', '))
  return files[0] as string
}

/** For each record of the file: where it is and the retained topic (kept/<n>) it belongs to. */
function recordsOf (bytes: Buffer): Array<{ start: number, end: number, topic: number }> {
  const found: Array<{ start: number, end: number, topic: number }> = []
  const bodies = new Map<number, Message>()
  let topic = ''
  const sink = {
    messageBody: (message: Message) => { bodies.set(message.id, message); topic = message.topic },
    messageById: (id: number) => bodies.get(id),
    retainedSet: (message: Message) => { topic = message.topic }
  }
  readFrames(bytes, (start, end) => {
    decodeRecord(new FieldReader(bytes, start, end), sink as unknown as RecordSink, new Map())
    found.push({ start: start - FRAME_HEADER_BYTES, end, topic: Number(topic.split('/')[1]) })
  }, () => { throw new Error('the pristine file is damaged') })
  return found
}

async function retainedIn (dir: string, log: RecordingLogger): Promise<Map<string, string>> {
  const store = new DiskStore({ directory: dir, logger: log })
  await store.open()
  const kept = new Map<string, string>()
  store.retained.match('#', (message) => { kept.set(message.topic, message.payload.toString()) })
  await store.close()
  return kept
}

for (const kind of ['log', 'snapshot'] as const) {
  test(`one byte flipped at each of 500 random offsets of a ${kind}: it opens, and only the damaged record is lost`, async (t) => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'roost-corrupt-'))
    t.after(() => { rmSync(root, { recursive: true, force: true }) })
    const pristineDir = path.join(root, 'pristine')
    const file = await pristineStore(pristineDir, kind === 'snapshot')
    const pristine = readFileSync(file)
    const records = recordsOf(pristine)
    const next = seededRandom(kind === 'log' ? 12 : 34)
    const trialDir = path.join(root, 'trial')
    for (let trial = 0; trial < 500; trial++) {
      const offset = Math.floor(next() * records[records.length - 1]!.end)
      const damaged = Buffer.from(pristine)
      damaged[offset] = (damaged[offset] as number) ^ (1 + Math.floor(next() * 255))
      rmSync(trialDir, { recursive: true, force: true })
      mkdirSync(trialDir)
      writeFileSync(path.join(trialDir, path.basename(file)), damaged)
      const log = new RecordingLogger()
      const kept = await retainedIn(trialDir, log)
      const hit = records.find((record) => offset >= record.start && offset < record.end)
      for (let i = 0; i < TOPICS; i++) {
        const topic = `kept/${i}`
        if (hit?.topic === i) continue
        assert.equal(kept.get(topic), retainedMessage(i).payload.toString(), `trial ${trial}, offset ${offset}: ${topic}\n${log.lines.join('\n')}`)
      }
      assert.ok(hit === undefined || !kept.has(`kept/${hit.topic}`), `trial ${trial}: the damaged record was read`)
      assert.ok(log.lines.some((line) => line.includes(`offset ${hit?.start ?? offset}`)), `trial ${trial}: no line names the offset\n${log.lines.join('\n')}`)
      // The broker starts on the damaged store (every 25th trial: each start writes a log of its own).
      if (trial % 25 === 0) {
        const broker = createBroker({ persistence: true, persistenceLocation: trialDir })
        await broker.listen()
        assert.equal(broker.retainedCount, TOPICS - 1)
        await broker.close()
      }
    }
  })
}

test('a log cut short at 100 random lengths opens with every whole record before the cut', async (t) => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'roost-torn-'))
  t.after(() => { rmSync(root, { recursive: true, force: true }) })
  const file = await pristineStore(path.join(root, 'pristine'), false)
  const pristine = readFileSync(file)
  const records = recordsOf(pristine)
  const next = seededRandom(56)
  const trialDir = path.join(root, 'trial')
  for (let trial = 0; trial < 100; trial++) {
    const length = Math.floor(next() * pristine.length)
    rmSync(trialDir, { recursive: true, force: true })
    mkdirSync(trialDir)
    const trialFile = path.join(trialDir, path.basename(file))
    writeFileSync(trialFile, pristine.subarray(0, length))
    const log = new RecordingLogger()
    const broker = createBroker({ persistence: true, persistenceLocation: trialDir }, { logger: log })
    await broker.listen()
    const whole = records.filter((record) => record.end <= length)
    // A topic is kept once both its records, body then retained record, are whole.
    const topics = new Set(whole.filter((record, index) => index % 2 === 1).map((record) => record.topic))
    assert.equal(broker.retainedCount, topics.size, `trial ${trial}, cut at ${length}`)
    await broker.close()
    // The torn tail was dropped from the file, so the next start finds nothing to report.
    assert.equal(readFileSync(trialFile).length, whole[whole.length - 1]?.end ?? 0)
    if (whole[whole.length - 1]?.end !== length) assert.ok(log.lines.some((line) => /incomplete record at offset \d+/.test(line)), log.lines.join('\n'))
  }
})
