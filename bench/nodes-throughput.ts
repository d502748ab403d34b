// Throughput of one flow at QoS 0 in a real Node-RED 4 runtime, loading the built package
// (roost.js) as a user would: `roost out` → `roost in` through the embedded broker (in process,
// no socket) beside core `mqtt out` → `mqtt in` through the same broker over TCP, in one run.
// A third path puts the core nodes on Aedes running in the same Node-RED process behind a TCP
// listener, which is how node-red-contrib-aedes serves a flow (the 5,600 msg/s baseline).
//
//   npm run build && node --import tsx bench/nodes-throughput.ts [messages] [--json]
//
// Messages go in with node.receive() and are counted where they come out; a window keeps at
// most WINDOW in flight, so neither path drops QoS 0 messages under its own backlog. CPU per
// message is this process's user + system time over the measured messages: Node-RED, the nodes
// and the broker all run here (and, for the core path, MQTT.js on both ends of the TCP hop).
// With --json the last line of output is a NodeRedResult (what `npm run bench` reads);
// BENCH_NODE_RED_PATHS=roost (or core) measures one path only, for a profile.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

const root = path.resolve(__dirname, '..')
const MESSAGES = Number(process.argv[2] ?? 200_000) || 200_000
const WARMUP = Math.min(20_000, Math.ceil(MESSAGES / 4))
const WINDOW = 500
const PAYLOAD = 'sensor reading 1'

interface RuntimeNode {
  receive: (msg: Record<string, unknown>) => void
  on: (event: 'input', listener: (msg: unknown, send: unknown, done: () => void) => void) => void
}
interface NodeRed {
  init: (server: http.Server, settings: Record<string, unknown>) => void
  start: () => Promise<void>
  stop: () => Promise<void>
  nodes: { getNode: (id: string) => unknown }
  events: { once: (event: string, listener: () => void) => void }
}

function freePort (): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => { resolve(port) })
    })
  })
}

function flows (port: number, aedesPort: number): unknown[] {
  return [
    { id: 'bench-tab', type: 'tab', label: 'bench' },
    { id: 'b1', type: 'roost-broker', name: 'bench', mode: 'embedded', port: String(port), bindAddress: '127.0.0.1', sysInterval: '0' },
    { id: 'roost-out', type: 'roost out', z: 'bench-tab', broker: 'b1', topic: 'bench/roost', qos: '0', retain: 'false', wires: [] },
    { id: 'roost-in', type: 'roost in', z: 'bench-tab', broker: 'b1', topic: 'bench/roost', qos: '0', datatype: 'buffer', inputs: 0, wires: [['roost-sink']] },
    { id: 'roost-sink', type: 'junction', z: 'bench-tab', wires: [] },
    // No MQTT at all: a message into one junction and out to the next, the same two hops the
    // roost path makes (into roost out, then roost in to its sink). What the runtime alone costs.
    { id: 'bare-in', type: 'junction', z: 'bench-tab', wires: [['bare-sink']] },
    { id: 'bare-sink', type: 'junction', z: 'bench-tab', wires: [] },
    { id: 'm1', type: 'mqtt-broker', name: 'same broker over TCP', broker: '127.0.0.1', port: String(port), clientid: '', autoConnect: true, usetls: false, protocolVersion: '4', keepalive: '60', cleansession: true },
    { id: 'core-out', type: 'mqtt out', z: 'bench-tab', broker: 'm1', topic: 'bench/core', qos: '0', retain: 'false', wires: [] },
    { id: 'core-in', type: 'mqtt in', z: 'bench-tab', broker: 'm1', topic: 'bench/core', qos: '0', datatype: 'buffer', inputs: 0, wires: [['core-sink']] },
    { id: 'core-sink', type: 'junction', z: 'bench-tab', wires: [] },
    { id: 'm2', type: 'mqtt-broker', name: 'Aedes in this process over TCP', broker: '127.0.0.1', port: String(aedesPort), clientid: '', autoConnect: true, usetls: false, protocolVersion: '4', keepalive: '60', cleansession: true },
    { id: 'aedes-out', type: 'mqtt out', z: 'bench-tab', broker: 'm2', topic: 'bench/aedes', qos: '0', retain: 'false', wires: [] },
    { id: 'aedes-in', type: 'mqtt in', z: 'bench-tab', broker: 'm2', topic: 'bench/aedes', qos: '0', datatype: 'buffer', inputs: 0, wires: [['aedes-sink']] },
    { id: 'aedes-sink', type: 'junction', z: 'bench-tab', wires: [] }
  ]
}

export interface PathResult {
  rate: number
  cpuMicrosPerMessage: number
}

export interface NodeRedResult {
  messages: number
  payloadBytes: number
  roost?: PathResult
  core?: PathResult
  /** Core nodes over TCP to Aedes in the same process (as node-red-contrib-aedes runs it). */
  aedes?: PathResult
  /** Node-RED alone, junction → junction: the ceiling any node pair can reach in this runtime. */
  bare?: PathResult
  /** Node-RED's version, for the notes. */
  nodeRedVersion: string
}

/** Pushes `count` messages through, WINDOW at a time; resolves with the rate and CPU per message. */
function pump (input: RuntimeNode, sink: RuntimeNode, topic: string, count: number): Promise<PathResult> {
  return new Promise((resolve) => {
    let sent = 0
    let received = 0
    let active = true
    const cpuBefore = process.cpuUsage()
    const started = process.hrtime.bigint()
    const sendBatch = (): void => {
      const until = Math.min(count, sent + WINDOW)
      while (sent < until) { input.receive({ topic, payload: PAYLOAD }); sent++ }
    }
    sink.on('input', (_msg, _send, done) => {
      done()
      if (!active) return
      received++
      if (received === count) {
        active = false
        const seconds = Number(process.hrtime.bigint() - started) / 1e9
        const cpu = process.cpuUsage(cpuBefore)
        resolve({ rate: count / seconds, cpuMicrosPerMessage: (cpu.user + cpu.system) / count })
      } else if (received === sent) {
        sendBatch()
      }
    })
    sendBatch()
  })
}

/** Aedes in this process behind a loopback TCP listener, as node-red-contrib-aedes runs it. */
async function startAedes (): Promise<{ port: number, close: () => Promise<void> }> {
  const { Aedes } = await import('aedes')
  const aedes = await Aedes.createBroker()
  const server = net.createServer({ noDelay: true }, aedes.handle)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  const close = (): Promise<void> => new Promise((resolve) => {
    server.close()
    aedes.close(() => { resolve() })
  })
  return { port, close }
}

async function main (): Promise<void> {
  const userDir = mkdtempSync(path.join(os.tmpdir(), 'roost-bench-'))
  mkdirSync(path.join(userDir, 'node_modules'))
  symlinkSync(root, path.join(userDir, 'node_modules', 'node-red-contrib-roost'), 'dir')
  const port = await freePort()
  const aedes = await startAedes()
  writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows(port, aedes.port)))
  const RED = require('node-red') as NodeRed
  const server = http.createServer()
  RED.init(server, {
    userDir,
    flowFile: 'flows.json',
    httpAdminRoot: false,
    httpNodeRoot: false,
    telemetry: { enabled: false },
    logging: { console: { level: 'warn', metrics: false, audit: false } }
  })
  const started = new Promise<void>((resolve) => { RED.events.once('flows:started', resolve) })
  await RED.start()
  await started
  const node = (id: string): RuntimeNode => {
    const found = RED.nodes.getNode(id) as RuntimeNode | null
    if (found === null) throw new Error(`node ${id} did not start (is roost.js built?)`)
    return found
  }
  // Wait until the core clients are connected and subscribed (polling is fine in a benchmark).
  for (const id of ['core-in', 'aedes-in']) {
    const coreIn = RED.nodes.getNode(id) as { brokerConn?: { connected: boolean, subscriptions: Record<string, unknown> } }
    while (coreIn.brokerConn?.connected !== true || Object.keys(coreIn.brokerConn.subscriptions).length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 200))

  const only = process.env.BENCH_NODE_RED_PATHS
  const result: NodeRedResult = {
    messages: MESSAGES,
    payloadBytes: PAYLOAD.length,
    nodeRedVersion: (require('node-red/package.json') as { version: string }).version
  }
  for (const [key, name, out, sink, topic] of [
    ['roost', 'roost out → roost in (embedded broker, in process)', 'roost-out', 'roost-sink', 'bench/roost'],
    ['core', 'mqtt out → mqtt in (core nodes, same broker over TCP)', 'core-out', 'core-sink', 'bench/core'],
    ['aedes', 'mqtt out → mqtt in (core nodes, Aedes in process over TCP)', 'aedes-out', 'aedes-sink', 'bench/aedes'],
    ['bare', 'junction → junction (Node-RED alone, no MQTT)', 'bare-in', 'bare-sink', 'bench/bare']
  ] as const) {
    if (only !== undefined && only !== key) continue
    await pump(node(out), node(sink), topic, WARMUP)
    const measured = await pump(node(out), node(sink), topic, MESSAGES)
    result[key] = measured
    console.log(`${name.padEnd(56)} ${Math.round(measured.rate).toLocaleString('en-US').padStart(10)} msg/s ${measured.cpuMicrosPerMessage.toFixed(2).padStart(7)} µs CPU per message`)
  }
  await RED.stop()
  await aedes.close()
  rmSync(userDir, { recursive: true, force: true })

  console.log(`Node-RED ${result.nodeRedVersion} runtime, QoS 0, ${MESSAGES} messages of ${PAYLOAD.length} bytes, window ${WINDOW}, Node ${process.version}`)
  if (result.roost !== undefined && result.core !== undefined) console.log(`ratio roost/core: ${(result.roost.rate / result.core.rate).toFixed(2)}x`)
  if (process.argv.includes('--json')) console.log(JSON.stringify(result))
  process.exit(0)
}
main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
