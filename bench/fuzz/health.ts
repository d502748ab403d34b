// After each batch: does the broker still serve a real client (MQTT.js, a QoS 1 publish coming
// back through its own subscription), and is memory flat? The heap is read after forced full
// collections, so what is left is what the broker holds.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import mqtt from 'mqtt'

/** Longest a round trip may take before the broker counts as hung. A guard, not a timing. */
const ROUND_TRIP_GUARD_MS = 15_000

/** Resolves with undefined when a fresh client's QoS 1 message came back, else with what failed. */
export async function roundTrip (port: number, round: number): Promise<string | undefined> {
  const protocolVersion = round % 2 === 0 ? 4 : 5
  const topic = `fz-health/${round}`
  const client = mqtt.connect({ host: '127.0.0.1', port, protocolVersion, clientId: `fz-health-${round}`, reconnectPeriod: 0, connectTimeout: ROUND_TRIP_GUARD_MS })
  // Failures arrive through the awaited steps below; this keeps them from being thrown twice.
  client.on('error', () => {})
  let guard: NodeJS.Timeout | undefined
  const timeout = new Promise<string>((resolve) => { guard = setTimeout(() => resolve(`no round trip within ${ROUND_TRIP_GUARD_MS / 1000} s (MQTT ${protocolVersion === 5 ? '5' : '3.1.1'})`), ROUND_TRIP_GUARD_MS) })
  const trip = (async (): Promise<string | undefined> => {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve())
      client.once('error', reject)
      client.once('close', () => reject(new Error('closed before CONNACK')))
    })
    const payload = `alive ${round}`
    const received = new Promise<string>((resolve) => client.once('message', (_topic, message) => resolve(message.toString())))
    await client.subscribeAsync(topic, { qos: 1 })
    await client.publishAsync(topic, payload, { qos: 1 })
    const echo = await received
    return echo === payload ? undefined : `the round trip brought back '${echo}'`
  })().catch((error: unknown) => `round trip failed: ${error instanceof Error ? error.message : String(error)}`)
  const problem = await Promise.race([trip, timeout])
  clearTimeout(guard)
  await client.endAsync(true)
  return problem
}

export interface MemorySample {
  heapBytes: number
  rssBytes: number
}

let collect: (() => void) | undefined

/** Node's collector, callable without a command-line flag. */
function gc (): void {
  if (collect === undefined) {
    setFlagsFromString('--expose-gc')
    collect = runInNewContext('gc') as () => void
  }
  collect()
}

/** Heap and RSS after a few full collections, with turns of the event loop between. */
export async function memoryAfterCollection (): Promise<MemorySample> {
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  const usage = process.memoryUsage()
  return { heapBytes: usage.heapUsed, rssBytes: usage.rss }
}

/**
 * Heap after each batch. Flat means: the lowest heap over the last quarter of the run is not far
 * above the lowest over its second quarter (the first quarter is warm-up: caches, JIT, pools).
 */
export class MemoryTrend {
  readonly samples: MemorySample[] = []

  add (sample: MemorySample): void {
    this.samples.push(sample)
  }

  private floor (from: number, to: number): number {
    const slice = this.samples.slice(Math.floor(this.samples.length * from), Math.max(Math.floor(this.samples.length * to), 1))
    return Math.min(...slice.map((sample) => sample.heapBytes))
  }

  /** Growth in bytes between the floors; undefined with too few batches to tell. */
  growthBytes (): { early: number, late: number } | undefined {
    if (this.samples.length < 8) return undefined
    return { early: this.floor(0.25, 0.5), late: this.floor(0.75, 1) }
  }
}
