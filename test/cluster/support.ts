// Shared pieces of the cluster specs: Roost nodes on one nats-server, and bounded waits.
import assert from 'node:assert/strict'
import { afterEach, beforeEach, type TestContext } from 'node:test'
import type { Broker, BrokerOptions, Logger } from '../../lib'
import { WAIT_MS } from '../client/helpers'
import type { Finished, ProcessPool } from '../clients/processes'
import { ClientPool, type Inbox, type Received, type RunningBroker, startBroker } from '../clients/support'
import { readMosquittoConf } from '../../lib/config/mosquitto-conf'
import { ConfigError } from '../../lib/errors'
import { type NatsServer, startNatsServer } from './nats-server'

/** A Roost node in the cluster on `nats`, closed after the test; `options.cluster` adds to (or overrides) the cluster settings. */
export async function startNode (t: TestContext, nats: NatsServer, nodeId: string, options: Partial<BrokerOptions> = {}, logger?: Logger): Promise<RunningBroker> {
  const node = await startClusterNode(nats, nodeId, options, logger)
  t.after(async () => { await node.broker.close() })
  return node
}

async function startClusterNode (nats: NatsServer, nodeId: string, options: Partial<BrokerOptions>, logger?: Logger): Promise<RunningBroker> {
  return await startBroker({ ...options, cluster: { servers: [nats.url], nodeId, reconnectWaitMs: 100, ...options.cluster } }, logger === undefined ? {} : { logger })
}

/**
 * A nats-server of its own for each test (its buckets start empty), and the Roost nodes on it,
 * closed before it stops: a node that shuts down still writes to NATS. clusterPerTest() starts and
 * stops it around each test.
 */
export class PerTestCluster {
  private server: NatsServer | undefined
  private readonly nodes: RunningBroker[] = []

  get nats (): NatsServer {
    if (this.server === undefined) throw new Error('PerTestCluster.start() was not called')
    return this.server
  }

  async start (): Promise<void> {
    this.server = await startNatsServer()
  }

  /** A node on this test's NATS. */
  async node (nodeId: string, options: Partial<BrokerOptions> = {}, logger?: Logger): Promise<RunningBroker> {
    const node = await startClusterNode(this.nats, nodeId, options, logger)
    this.nodes.push(node)
    return node
  }

  /** Stops NATS, then starts a new one, with an empty store, on the same port. */
  async outage (whileAway: () => Promise<void>): Promise<void> {
    const port = this.nats.port
    await this.nats.stop()
    await whileAway()
    this.server = await startNatsServer({ port })
  }

  async stop (): Promise<void> {
    for (const node of this.nodes.splice(0)) await node.broker.close()
    await this.server?.stop()
    this.server = undefined
  }
}

/** `promise`, or a failure naming `what` after `limitMs` (WAIT_MS): no wait in these specs is unbounded. */
export async function within<T> (promise: Promise<T>, what: string, limitMs = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`${what}: nothing within ${limitMs} ms`)) }, limitMs)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Resolves once `condition()` holds, looked at every 10 ms; fails after `limitMs` (WAIT_MS) naming `what`. */
export async function until (condition: () => boolean, what: string, limitMs = WAIT_MS): Promise<void> {
  let done = false
  try {
    await within(new Promise<void>((resolve) => {
      const check = (): void => { if (done || condition()) resolve(); else setTimeout(check, 10) }
      check()
    }), what, limitMs)
  } finally {
    // A failed wait stops looking, rather than polling for the rest of the run.
    done = true
  }
}

/** Every node's subscriptions and messages are with NATS (one round trip each). */
export async function settle (...brokers: Broker[]): Promise<void> {
  for (const broker of brokers) await broker.clusterSync()
}

/** Waits for the message on `topic` (a marker sent last) and returns topic and payload of everything before it and it. */
export async function upTo (inbox: Inbox, topic: string): Promise<Array<{ topic: string, payload: string }>> {
  const messages: Received[] = await within(inbox.waitForTopic(topic), `message on '${topic}'`)
  return messages.map((message) => ({ topic: message.topic, payload: message.payload.toString() }))
}

/** Subscribes an MQTT.js client and waits for its SUBACK. */
export async function subscribeAll (pool: ClientPool, port: number, filters: string[], clientId: string): Promise<Inbox> {
  const { client, inbox } = await pool.connect(port, { clientId, protocolVersion: 4 })
  await within(client.subscribeAsync(filters, { qos: 0 }), `SUBACK for ${clientId}`)
  return inbox
}

/** A PerTestCluster and an MQTT.js client pool around each test of the file: clients end, then nodes close, then NATS stops. */
export function clusterPerTest (): { cluster: PerTestCluster, pool: ClientPool } {
  const cluster = new PerTestCluster()
  const pool = new ClientPool()
  beforeEach(async () => { await cluster.start() })
  afterEach(async () => {
    await pool.endAll()
    await cluster.stop()
  })
  return { cluster, pool }
}

/** An MQTT.js client pool and the NATS servers a test starts (pushed onto `servers`): after each test of the file the clients end, then the servers stop. */
export function natsServersPerTest (): { pool: ClientPool, servers: NatsServer[] } {
  const state = { pool: new ClientPool(), servers: [] as NatsServer[] }
  afterEach(async () => {
    await state.pool.endAll()
    await Promise.all(state.servers.splice(0).map(async (server) => { await server.stop() }))
  })
  return state
}

/** Reading the config file `file` fails with a ConfigError that starts with the file's name and says `expected`. */
export function assertConfRefused (file: string, expected: string): void {
  assert.throws(() => readMosquittoConf(file), (error: unknown) => {
    assert.ok(error instanceof ConfigError)
    assert.ok(error.message.startsWith(file), error.message)
    assert.ok(error.message.includes(expected), error.message)
    return true
  })
}

/**
 * A mosquitto_sub on `toPort` for site/+/state, and mosquitto_pub site/pump/state 'running' on
 * `fromPort` until the subscriber has it (it prints nothing once subscribed), bounded; resolves
 * with the subscriber's end. Client ids start with `prefix`.
 */
export async function crossWithMosquitto (processes: ProcessPool, fromPort: number, toPort: number, prefix: string): Promise<Finished> {
  const sub = processes.start('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(toPort), '-i', `${prefix}-sub`, '-t', 'site/+/state', '-C', '1', '-v'])
  let stdout = ''
  sub.child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  for (let attempt = 0; attempt < 100 && stdout === ''; attempt++) {
    const pub = await processes.run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(fromPort), '-i', `${prefix}-pub`, '-t', 'site/pump/state', '-m', 'running'])
    assert.equal(pub.code, 0, pub.stderr)
    if (stdout === '') await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return await within(sub.finished, 'mosquitto_sub')
}
