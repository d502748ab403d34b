// The bench scenarios, each driving one broker on one port and measuring that broker's process.
import { performance } from 'node:perf_hooks'
import { Flow, type FlowPlan } from './flow'
import { memoryBytes } from './proc'
import { PUBACK, PUBLISH, payload64, publishPacket } from './packets'
import { type ScenarioResult, sleep, snapshot, summarize } from './measure'
import { WireClient } from './wire'

export interface Timing {
  /** Traffic before the measured window, so every broker runs warm (JIT, buffers). */
  warmupMs: number
  /** The measured window of the throughput scenarios. */
  measureMs: number
  /** Rate and length of the latency scenario. */
  latencyRate: number
  latencyMs: number
  retainedTopics: number
  retainedSubscribers: number
  connections: number
}

export interface Job {
  scenario: ScenarioName
  port: number
  /** The broker's listener speaks TLS (the tls scenarios). */
  secure: boolean
  /** The broker's listener speaks MQTT over WebSockets (the ws scenarios). */
  webSocket: boolean
  pid: number
  timing: Timing
}

export type ScenarioName = 'fanIn' | 'fanOut' | 'qos1' | 'qos2' | 'retained' | 'latency' | 'connections' | 'tlsHandshakes' | 'tlsQos0' | 'tlsQos1' |
'wsConnections' | 'wsQos0' | 'wsQos1' | 'qos1Durable'

/** The scenarios whose broker listens with TLS (on an EC P-256 certificate, the same for every broker). */
export function isTlsScenario (scenario: ScenarioName): boolean {
  return scenario.startsWith('tls')
}

/** The scenarios whose broker listens with `protocol websockets` (subprotocol mqtt, binary frames). */
export function isWebSocketScenario (scenario: ScenarioName): boolean {
  return scenario.startsWith('ws')
}

/** Clients in the WebSocket connections scenario: each also costs the generator a ws client. */
export const WS_CONNECTIONS = 5000

export function runScenario (job: Job): Promise<ScenarioResult> {
  switch (job.scenario) {
    case 'fanIn': return flowScenario(job, {
      qos: 0, publishers: 4, subscribers: 1, filter: 'bench/+/data', topicOf: (i) => `bench/${i}/data`, window: 2000, inflightPerPublisher: 0
    })
    case 'fanOut': return flowScenario(job, {
      qos: 0, publishers: 1, subscribers: 50, filter: 'bench/fanout', topicOf: () => 'bench/fanout', window: 500, inflightPerPublisher: 0
    })
    case 'qos1': return flowScenario(job, {
      qos: 1, publishers: 4, subscribers: 1, filter: 'bench/+/data', topicOf: (i) => `bench/${i}/data`, window: 1000, inflightPerPublisher: 100
    })
    // QoS 1 to a subscriber that keeps its session: what a durable broker must write per message (bench/durable.ts).
    case 'qos1Durable': return flowScenario(job, {
      qos: 1, publishers: 4, subscribers: 1, filter: 'bench/+/data', topicOf: (i) => `bench/${i}/data`, window: 1000, inflightPerPublisher: 100, persistentSubscribers: true
    })
    case 'qos2': return flowScenario(job, {
      qos: 2, publishers: 4, subscribers: 1, filter: 'bench/+/data', topicOf: (i) => `bench/${i}/data`, window: 1000, inflightPerPublisher: 100
    })
    case 'tlsQos0': return flowScenario(job, {
      qos: 0, publishers: 4, subscribers: 1, filter: 'bench/+/data', topicOf: (i) => `bench/${i}/data`, window: 2000, inflightPerPublisher: 0
    })
    case 'tlsQos1': return flowScenario(job, {
      qos: 1, publishers: 4, subscribers: 1, filter: 'bench/+/data', topicOf: (i) => `bench/${i}/data`, window: 1000, inflightPerPublisher: 100
    })
    case 'tlsHandshakes': return handshakes(job)
    // The same flows with every client over a WebSocket: what the framing costs each broker.
    case 'wsQos0': return flowScenario(job, {
      qos: 0, publishers: 4, subscribers: 1, filter: 'bench/+/data', topicOf: (i) => `bench/${i}/data`, window: 2000, inflightPerPublisher: 0
    })
    case 'wsQos1': return flowScenario(job, {
      qos: 1, publishers: 4, subscribers: 1, filter: 'bench/+/data', topicOf: (i) => `bench/${i}/data`, window: 1000, inflightPerPublisher: 100
    })
    case 'wsConnections': return connections(job, Math.min(job.timing.connections, WS_CONNECTIONS))
    case 'retained': return retainedStorm(job)
    case 'latency': return latency(job)
    case 'connections': return connections(job, job.timing.connections)
  }
}

async function flowScenario (job: Job, plan: Omit<FlowPlan, 'port' | 'secure' | 'webSocket'>): Promise<ScenarioResult> {
  const flow = new Flow({ ...plan, port: job.port, secure: job.secure, webSocket: job.webSocket })
  try {
    await flow.open(job.scenario)
    flow.start()
    await sleep(job.timing.warmupMs)
    const start = snapshot(job.pid, flow.delivered)
    const droppedBefore = flow.dropped
    await sleep(job.timing.measureMs)
    const end = snapshot(job.pid, flow.delivered)
    flow.stop()
    return summarize(job.pid, start, end, flow.dropped - droppedBefore)
  } finally {
    flow.close()
  }
}

/** 10,000 retained topics stored first; then 20 clients subscribe to '#' at once. */
async function retainedStorm (job: Job): Promise<ScenarioResult> {
  const { retainedTopics: topics, retainedSubscribers: subscribers } = job.timing
  const clients: WireClient[] = []
  try {
    // Store the retained messages (not measured), QoS 1 with 100 in flight, until all are acknowledged.
    clients.push(await storeRetained(job.port, topics, 'retained-pub'))

    let received = 0
    let done: () => void = () => {}
    const allReceived = new Promise<void>((resolve) => { done = resolve })
    const start = snapshot(job.pid, 0)
    await Promise.all(Array.from({ length: subscribers }, async (_, i) => {
      const client = await WireClient.connect(job.port, `retained-sub-${i}`)
      clients.push(client)
      client.onPacket = (type) => {
        if (type === PUBLISH && ++received === topics * subscribers) done()
      }
      await client.subscribe('#', 0)
    }))
    await Promise.race([allReceived, stalled(() => received)])
    return summarize(job.pid, start, snapshot(job.pid, received), topics * subscribers - received)
  } finally {
    for (const client of clients) client.destroy()
  }
}

/**
 * Publishes `topics` retained QoS 1 messages (`storm/<i % 100>/<i>`, 64-byte payloads), 100 in
 * flight, and resolves with the publisher once the broker has acknowledged them all.
 */
export async function storeRetained (port: number, topics: number, clientId: string): Promise<WireClient> {
  const publisher = await WireClient.connect(port, clientId)
  const payload = payload64()
  const packets: Buffer[] = []
  for (let i = 0; i < topics; i++) packets.push(publishPacket(`storm/${i % 100}/${i}`, payload, 1, (i % 65535) + 1, true))
  await new Promise<void>((resolve) => {
    let next = 0
    let acked = 0
    let inflight = 0
    const send = (): void => {
      const batch: Buffer[] = []
      while (inflight < 100 && next < topics) {
        batch.push(packets[next++] as Buffer)
        inflight++
      }
      if (batch.length > 0) publisher.write(Buffer.concat(batch))
    }
    publisher.onPacket = (type) => {
      if (type !== PUBACK) return
      inflight--
      if (++acked === topics) resolve()
    }
    publisher.onChunk = send
    send()
  })
  return publisher
}

/** Resolves once `count()` has not moved for two seconds: the broker will send no more. */
async function stalled (count: () => number): Promise<void> {
  let last = -1
  while (count() !== last) {
    last = count()
    await sleep(2000)
  }
}

/** A steady rate of QoS 0 messages, each stamped with its send time; p50 / p99 / max. */
async function latency (job: Job): Promise<ScenarioResult> {
  const { latencyRate: rate, latencyMs, warmupMs } = job.timing
  const subscriber = await WireClient.connect(job.port, 'latency-sub')
  const publisher = await WireClient.connect(job.port, 'latency-pub')
  try {
    await subscriber.subscribe('bench/latency', 0)
    const template = publishPacket('bench/latency', payload64(), 0, 0)
    const stampAt = template.length - 64
    const samples = new Float64Array(Math.ceil(rate * (latencyMs + warmupMs) / 1000) + rate)
    let sampleCount = 0
    let received = 0
    let measuring = false
    subscriber.onPacket = (type, _flags, data, start) => {
      if (type !== PUBLISH) return
      const sentAt = data.readDoubleLE(start + 2 + data.readUInt16BE(start))
      received++
      if (measuring && sampleCount < samples.length) samples[sampleCount++] = performance.now() - sentAt
    }
    let sent = 0
    const begin = performance.now()
    const timer = setInterval(() => {
      const due = Math.floor((performance.now() - begin) * rate / 1000) - sent
      for (let i = 0; i < due; i++) {
        const packet = Buffer.from(template)
        packet.writeDoubleLE(performance.now(), stampAt)
        publisher.write(packet)
        sent++
      }
    }, 1)
    await sleep(warmupMs)
    measuring = true
    const start = snapshot(job.pid, received)
    await sleep(latencyMs)
    const end = snapshot(job.pid, received)
    measuring = false
    clearInterval(timer)
    await sleep(50)
    const sorted = samples.subarray(0, sampleCount).sort()
    const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
    const result = summarize(job.pid, start, end, sent - received)
    result.latency = { p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted[sorted.length - 1] ?? 0 }
    return result
  } finally {
    publisher.destroy()
    subscriber.destroy()
  }
}

/** Many clients connect and subscribe, a few hundred handshakes at a time; rate and memory per client. */
async function connections (job: Job, total: number): Promise<ScenarioResult> {
  const concurrency = 200
  const clients: WireClient[] = []
  try {
    await sleep(200)
    const before = memoryBytes(job.pid).rss
    const start = snapshot(job.pid, 0)
    let next = 0
    let connected = 0
    // Memory at the half-way mark too: the second half's growth is the cost of one more client,
    // without the heap and buffer pools every broker grows on its first few thousand.
    let halfway: { clients: number, rss: number } | undefined
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++
        const client = await WireClient.connect(job.port, `conn-${i}`, { secure: job.secure, webSocket: job.webSocket })
        clients.push(client)
        await client.subscribe(`bench/conn/${i}`, 0)
        if (++connected === Math.floor(total / 2)) halfway = { clients: connected, rss: memoryBytes(job.pid).rss }
      }
    }))
    const end = snapshot(job.pid, connected)
    // Let the broker settle (deferred frees, timers) before reading its memory.
    await sleep(500)
    const after = memoryBytes(job.pid).rss
    const result = summarize(job.pid, start, end)
    result.connections = {
      clients: connected,
      bytesPerClient: (after - before) / connected,
      marginalBytesPerClient: halfway === undefined ? 0 : (after - halfway.rss) / (connected - halfway.clients)
    }
    return result
  } finally {
    for (const client of clients) client.destroy()
  }
}

/**
 * New TLS clients back to back, 50 at a time: each does the TLS handshake, CONNECT and CONNACK,
 * then closes. The rate counts whole handshakes in the measured window; the broker's CPU per
 * handshake is mostly its share of the TLS key exchange.
 */
async function handshakes (job: Job): Promise<ScenarioResult> {
  const concurrency = 50
  let done = 0
  let failed = 0
  let running = true
  const loops = Array.from({ length: concurrency }, async (_, lane) => {
    for (let i = 0; running; i++) {
      try {
        const client = await WireClient.connect(job.port, `hs-${lane}-${i}`, { secure: true })
        client.destroy()
        done++
      } catch {
        failed++
      }
    }
  })
  await sleep(job.timing.warmupMs)
  const start = snapshot(job.pid, done)
  const failedBefore = failed
  await sleep(job.timing.measureMs)
  const end = snapshot(job.pid, done)
  running = false
  await Promise.all(loops)
  return summarize(job.pid, start, end, failed - failedBefore)
}
