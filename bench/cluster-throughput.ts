// Cluster throughput: two and three `roost` processes on one nats-server (Debian's, with JetStream,
// its monitoring port open), a publisher on node A and a subscriber on each other node, at QoS 0
// (plain NATS subjects) and at QoS 1 (through the JetStream stream, PUBACK once stored); beside
// them one Roost alone with publisher and subscriber on the same node. Figures: messages
// per second end to end, CPU per message of each node and of nats-server, and bytes nats-server
// took in and sent out per message (/varz in_bytes, out_bytes: message payload and header bytes,
// without the NATS protocol lines around them).
//
//   node --import tsx bench/cluster-throughput.ts [messages]
//
// QoS 0 has no acknowledgement, so the publisher keeps at most WINDOW messages in flight end to
// end (sent, not yet received): the figure is what the path carries, not how much it drops.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { MqttClient } from 'mqtt'
import { connect } from './bridge-throughput'
import { freePort, startBroker, waitForPort, type RunningBroker } from './brokers'
import { cpuMicros } from './generator/proc'

export const NATS_SERVER = '/usr/sbin/nats-server'

export interface ClusterRunResult {
  /** Roost nodes: 1 (publisher and subscriber on it), 2 (publisher on A, subscriber on B), 3 (publisher on A, one subscriber on B and one on C). */
  nodes: number
  /** QoS of the publisher and of the subscriptions. */
  qos: 0 | 1
  /** Messages published. */
  messages: number
  /** Messages published per second that reached every subscriber. */
  rate: number
  /** CPU per published message of each node, publisher's node first (µs). */
  nodeCpuMicros: number[]
  /** CPU per published message of nats-server (µs); 0 alone. */
  natsCpuMicros: number
  /** Bytes nats-server received and sent per published message (its /varz in_bytes and out_bytes). */
  natsInBytes: number
  natsOutBytes: number
  /** Deliveries that did not arrive within the wait, over all subscribers. */
  missing: number
}

const WINDOW = 1000
const PAYLOAD = Buffer.alloc(64, 'x')
const TOPIC = 'bench/cluster/t'
const WAIT_MS = 120_000

interface Nats { pid: number, url: string, monitorPort: number, stop: () => Promise<void> }

async function startNats (): Promise<Nats> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-bench-nats-'))
  const port = await freePort()
  const monitorPort = await freePort()
  const conf = path.join(dir, 'nats.conf')
  writeFileSync(conf, `server_name: bench_${port}\nlisten: 127.0.0.1:${port}\nhttp: 127.0.0.1:${monitorPort}\njetstream { store_dir: "${path.join(dir, 'js')}" }\n`)
  const child: ChildProcess = spawn(NATS_SERVER, ['-c', conf], { stdio: ['ignore', 'ignore', 'ignore'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await waitForPort(port, child)
  } catch (error) {
    await stop()
    throw error
  }
  return { pid: child.pid as number, url: `nats://127.0.0.1:${port}`, monitorPort, stop }
}

async function natsBytes (nats: Nats | undefined): Promise<{ in: number, out: number }> {
  if (nats === undefined) return { in: 0, out: 0 }
  const varz = await (await fetch(`http://127.0.0.1:${nats.monitorPort}/varz`)).json() as { in_bytes: number, out_bytes: number }
  return { in: varz.in_bytes, out: varz.out_bytes }
}

/** Publishes probes at `qos` until one crosses: the subscriber's node has its NATS subscription (or stream consumer). */
async function waitForPath (publisher: MqttClient, subscriber: MqttClient, qos: 0 | 1): Promise<void> {
  let crossed = false
  const listener = (topic: string): void => { if (topic === 'bench/cluster/probe') crossed = true }
  subscriber.on('message', listener)
  for (let attempt = 0; attempt < 300 && !crossed; attempt++) {
    await publisher.publishAsync('bench/cluster/probe', 'probe', { qos })
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  subscriber.off('message', listener)
  if (!crossed) throw new Error('no message crossed the cluster')
}

async function run (count: number, qos: 0 | 1, messages: number): Promise<ClusterRunResult> {
  const nats = count === 1 ? undefined : await startNats()
  const nodes: RunningBroker[] = []
  const clients: MqttClient[] = []
  try {
    for (let i = 0; i < count; i++) {
      nodes.push(await startBroker('roost', { extraConf: nats === undefined ? [] : [`cluster_nats_url ${nats.url}`, `cluster_node_id bench-${i}`] }))
    }
    const pubNode = nodes[0] as RunningBroker
    // Alone, the subscriber shares the publisher's node; otherwise one subscriber on each other node.
    const subNodes = count === 1 ? nodes : nodes.slice(1)
    const publisher = await connect(pubNode.port, 'bench-pub')
    clients.push(publisher)
    const subscribers: MqttClient[] = []
    for (const [index, node] of subNodes.entries()) {
      const subscriber = await connect(node.port, `bench-sub-${index}`)
      clients.push(subscriber)
      subscribers.push(subscriber)
      await subscriber.subscribeAsync('bench/cluster/#', { qos })
      await waitForPath(publisher, subscriber, qos)
    }

    const received = subscribers.map(() => 0)
    let sent = 0
    let slowest = 0
    let done: () => void = () => {}
    const all = new Promise<void>((resolve) => { done = resolve })
    const pump = (): void => {
      while (sent < messages && sent - slowest < WINDOW) {
        sent++
        publisher.publish(TOPIC, PAYLOAD, { qos })
      }
    }
    subscribers.forEach((subscriber, index) => {
      subscriber.on('message', (topic) => {
        if (topic !== TOPIC) return
        const count = (received[index] ?? 0) + 1
        received[index] = count
        if (count % 100 !== 0 && count !== messages) return
        slowest = Math.min(...received)
        if (slowest === messages) done()
        else pump()
      })
    })
    const cpu = nodes.map((node) => cpuMicros(node.pid))
    const natsCpu = nats === undefined ? 0 : cpuMicros(nats.pid)
    const bytes = await natsBytes(nats)
    const started = performance.now()
    pump()
    const timer = new Promise<void>((resolve) => setTimeout(resolve, WAIT_MS).unref())
    await Promise.race([all, timer])
    const seconds = (performance.now() - started) / 1000
    slowest = Math.min(...received)
    const per = Math.max(sent, 1)
    const bytesAfter = await natsBytes(nats)
    return {
      nodes: count,
      qos,
      messages,
      rate: slowest / seconds,
      nodeCpuMicros: nodes.map((node, index) => (cpuMicros(node.pid) - (cpu[index] as number)) / per),
      natsCpuMicros: nats === undefined ? 0 : (cpuMicros(nats.pid) - natsCpu) / per,
      natsInBytes: (bytesAfter.in - bytes.in) / per,
      natsOutBytes: (bytesAfter.out - bytes.out) / per,
      missing: received.reduce((sum, count) => sum + messages - count, 0)
    }
  } finally {
    await Promise.all(clients.map((client) => client.endAsync(true)))
    for (const node of nodes) await node.stop()
    await nats?.stop()
  }
}

/** Why the scenario cannot run here, or undefined when it can. */
export function clusterUnavailable (): string | undefined {
  return existsSync(NATS_SERVER) ? undefined : `${NATS_SERVER} is not installed (Debian package nats-server)`
}

/** One node alone, then two and three nodes on one nats-server, at QoS 0 then QoS 1, `messages` each. */
export async function measureCluster (messages: number): Promise<ClusterRunResult[]> {
  const results: ClusterRunResult[] = []
  for (const qos of [0, 1] as const) {
    for (const count of [1, 2, 3]) results.push(await run(count, qos, messages))
  }
  return results
}

const LAYOUTS: Record<number, string> = {
  1: '1 node alone: publisher and subscriber on it',
  2: '2 nodes: publisher on A, subscriber on B',
  3: '3 nodes: publisher on A, subscribers on B and C'
}

/** One line per run, for the console and the report's notes. */
export function describeClusterRun (result: ClusterRunResult): string {
  const cpu = result.nodeCpuMicros.map((micros, index) => `${String.fromCharCode(65 + index)} ${micros.toFixed(2)}`).join(', ')
  const nats = result.nodes === 1
    ? ''
    : `, nats-server ${result.natsCpuMicros.toFixed(2)}; NATS bytes per message in ${result.natsInBytes.toFixed(0)}, out ${result.natsOutBytes.toFixed(0)}`
  return `cluster (${LAYOUTS[result.nodes] ?? `${result.nodes} nodes`}; QoS ${result.qos}, ${PAYLOAD.length} B): ${Math.round(result.rate)} msg/s; ` +
    `CPU per message (µs): node ${cpu}${nats}; missing ${result.missing}`
}

if (require.main === module) {
  const messages = Number(process.argv[2]) > 0 ? Number(process.argv[2]) : 200_000
  measureCluster(messages).then((results) => { for (const result of results) console.log(describeClusterRun(result)) }, (error: unknown) => {
    console.error(error)
    process.exit(1)
  })
}
