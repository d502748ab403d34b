// The topic explorer's cost, measured in one process:
// - memory: the heap an index of N topics takes (default 100,000 topics, each with one retained
//   ~60-byte JSON reading, then a second message on every tenth for a history of two), with gc
//   before each reading;
// - routing: nanoseconds per in-process publish (no subscriber) with no observer, with an empty
//   observer, and with the explorer's index observing, to show what the observer seam and the
//   index add per message.
//
//   node --expose-gc --import tsx bench/explorer-memory.ts [topics] [messages]
import { createBroker, type Message } from '../lib'
import { TopicIndex } from '../nodes/explorer/topic-index'

const TOPICS = Number(process.argv[2] ?? 100_000) || 100_000
const MESSAGES = Number(process.argv[3] ?? 500_000) || 500_000
const ROUNDS = 3

function collect (): number {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with node --expose-gc')
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

function topicOf (i: number): string {
  return `site/building${i % 10}/floor${Math.floor(i / 10) % 10}/room${Math.floor(i / 100) % 100}/sensor${Math.floor(i / 10_000)}`
}

function reading (i: number): Buffer {
  return Buffer.from(JSON.stringify({ temperature: 20 + (i % 10) / 10, humidity: 40 + (i % 7), battery: 97 }))
}

function measureMemory (): void {
  const before = collect()
  const index = new TopicIndex()
  for (let i = 0; i < TOPICS; i++) index.record({ topic: topicOf(i), payload: reading(i), qos: 1, retain: true })
  for (let i = 0; i < TOPICS; i += 10) index.record({ topic: topicOf(i), payload: reading(i + 1), qos: 1, retain: true })
  const after = collect()
  const bytes = after - before
  console.log(`index of ${index.topicCount.toLocaleString('en-US')} topics: ${(bytes / 2 ** 20).toFixed(1)} MiB heap, ` +
    `${Math.round(bytes / index.topicCount)} bytes per topic (payload kept: ${(index.payloadBytesKept / 2 ** 20).toFixed(1)} MiB)`)
}

/** Best nanoseconds per in-process publish on a fresh broker with `observer` (if any), after a warm-up run. */
async function routingNs (observer: ((message: Message) => void) | undefined): Promise<number> {
  const broker = createBroker({ listeners: [], sysIntervalSec: 0 })
  await broker.listen()
  if (observer !== undefined) broker.observeMessages(observer)
  const payload = reading(1)
  const topics = Array.from({ length: 1000 }, (_, i) => topicOf(i))
  const run = (): number => {
    const start = process.hrtime.bigint()
    for (let i = 0; i < MESSAGES; i++) broker.publish({ topic: topics[i % 1000] as string, payload, qos: 0 })
    return Number(process.hrtime.bigint() - start) / MESSAGES
  }
  run()
  let best = Infinity
  for (let round = 0; round < ROUNDS; round++) best = Math.min(best, run())
  await broker.close()
  return best
}

async function measureRouting (): Promise<void> {
  const none = await routingNs(undefined)
  const empty = await routingNs(() => {})
  const index = new TopicIndex()
  const indexed = await routingNs((message) => { index.record(message) })
  const viewed = new TopicIndex()
  viewed.trackChanges = true
  const withView = await routingNs((message) => { viewed.record(message); if (viewed.topicCount > 0 && Math.random() < 0.001) viewed.takeChanged() })
  console.log(`in-process publish, 1,000 topics, best of ${ROUNDS} × ${MESSAGES.toLocaleString('en-US')}, ns per message: no observer ${none.toFixed(0)}, ` +
    `empty observer ${empty.toFixed(0)}, explorer index ${indexed.toFixed(0)}, index with a view open (history, changes) ${withView.toFixed(0)}`)
}

measureMemory()
measureRouting().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
