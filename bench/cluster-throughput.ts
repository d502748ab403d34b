// Cluster throughput: two `roost` processes on one nats-server (Debian's, with JetStream), a
// publisher on node A and a subscriber on node B, at QoS 0 (plain NATS subjects) and at QoS 1
// (through the JetStream stream, PUBACK once stored); beside each, one Roost alone with publisher
// and subscriber on the same node. Figures: messages per second end to end, CPU per message of
// each node and of nats-server, and bytes nats-server took in and sent out per message.
//
//   node --import tsx bench/cluster-throughput.ts [messages]
//
// The publisher keeps at most WINDOW messages in flight end to end (sent, not yet received): the
// figure is what the path carries, not how much it drops (QoS 0) or how deep a queue grows (QoS 1).
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
  /** 'alone': one node, publisher and subscriber on it; 'two nodes': publisher on A, subscriber on B. */
  layout: 'alone' | 'two nodes'
  /** QoS of the publisher and of the subscription. */
  qos: 0 | 1
  messages: number
  rate: number
  /** CPU per message of the publisher's node, the subscriber's node (the same one alone) and nats-server (µs). */
  publisherNodeCpuMicros: number
  subscriberNodeCpuMicros: number
  natsCpuMicros: number
  /** Payload bytes nats-server received and sent per message (its /varz in_bytes and out_bytes). */
  natsInBytes: number
  natsOutBytes: number
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

async function run (layout: ClusterRunResult['layout'], qos: 0 | 1, messages: number): Promise<ClusterRunResult> {
  const nats = layout === 'alone' ? undefined : await startNats()
  const nodes: RunningBroker[] = []
  const clients: MqttClient[] = []
  try {
    const count = layout === 'alone' ? 1 : 2
    for (let i = 0; i < count; i++) {
      nodes.push(await startBroker('roost', { extraConf: nats === undefined ? [] : [`cluster_nats_url ${nats.url}`, `cluster_node_id bench-${i}`] }))
    }
    const pubNode = nodes[0] as RunningBroker
    const subNode = nodes[count - 1] as RunningBroker
    const subscriber = await connect(subNode.port, 'bench-sub')
    clients.push(subscriber)
    await subscriber.subscribeAsync('bench/cluster/#', { qos })
    const publisher = await connect(pubNode.port, 'bench-pub')
    clients.push(publisher)
    await waitForPath(publisher, subscriber, qos)

    let received = 0
    let sent = 0
    let done: () => void = () => {}
    const all = new Promise<void>((resolve) => { done = resolve })
    const pump = (): void => {
      while (sent < messages && sent - received < WINDOW) {
        sent++
        publisher.publish(TOPIC, PAYLOAD, { qos })
      }
    }
    subscriber.on('message', (topic) => {
      if (topic !== TOPIC) return
      if (++received === messages) done()
      else if (received % 100 === 0) pump()
    })
    const cpu = [cpuMicros(pubNode.pid), cpuMicros(subNode.pid), nats === undefined ? 0 : cpuMicros(nats.pid)]
    const bytes = await natsBytes(nats)
    const started = performance.now()
    pump()
    const timer = new Promise<void>((resolve) => setTimeout(resolve, WAIT_MS).unref())
    await Promise.race([all, timer])
    const seconds = (performance.now() - started) / 1000
    const per = Math.max(received, 1)
    const bytesAfter = await natsBytes(nats)
    return {
      layout,
      qos,
      messages,
      rate: received / seconds,
      publisherNodeCpuMicros: (cpuMicros(pubNode.pid) - (cpu[0] as number)) / per,
      subscriberNodeCpuMicros: count === 1 ? 0 : (cpuMicros(subNode.pid) - (cpu[1] as number)) / per,
      natsCpuMicros: nats === undefined ? 0 : (cpuMicros(nats.pid) - (cpu[2] as number)) / per,
      natsInBytes: (bytesAfter.in - bytes.in) / per,
      natsOutBytes: (bytesAfter.out - bytes.out) / per,
      missing: messages - received
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

/** One node alone, then two nodes on one nats-server, at QoS 0 then QoS 1, `messages` each. */
export async function measureCluster (messages: number): Promise<ClusterRunResult[]> {
  const results: ClusterRunResult[] = []
  for (const qos of [0, 1] as const) results.push(await run('alone', qos, messages), await run('two nodes', qos, messages))
  return results
}

/** One line per run, for the console and the report's notes. */
export function describeClusterRun (result: ClusterRunResult): string {
  const nodes = result.layout === 'alone'
    ? `node ${result.publisherNodeCpuMicros.toFixed(2)} µs`
    : `publishing node ${result.publisherNodeCpuMicros.toFixed(2)} µs, subscribing node ${result.subscriberNodeCpuMicros.toFixed(2)} µs, ` +
      `nats-server ${result.natsCpuMicros.toFixed(2)} µs; NATS payload bytes per message in ${result.natsInBytes.toFixed(0)}, out ${result.natsOutBytes.toFixed(0)}`
  return `cluster (${result.layout}, QoS ${result.qos}, ${PAYLOAD.length} B): ${Math.round(result.rate)} msg/s; CPU per message: ${nodes}; missing ${result.missing}`
}

if (require.main === module) {
  const messages = Number(process.argv[2]) > 0 ? Number(process.argv[2]) : 200_000
  measureCluster(messages).then((results) => { for (const result of results) console.log(describeClusterRun(result)) }, (error: unknown) => {
    console.error(error)
    process.exit(1)
  })
}
