// Debian's nats-server, started by a test on free loopback ports with JetStream in a temporary
// store directory, and an MQTT listener of its own when asked (it needs JetStream and a server name).
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { freePort, tempDir, waitForPort } from '../client/helpers'

export const NATS_SERVER = '/usr/sbin/nats-server'

export interface NatsServer {
  /** Its server_name, as JetStream names stream leaders and replicas (a stand-in for a server not started has none). */
  name?: string
  port: number
  url: string
  /** The port of nats-server's own MQTT listener; undefined when not asked for. */
  mqttPort: number | undefined
  /** The port of its HTTP monitoring endpoint (/connz, /subsz); undefined when not asked for. */
  monitorPort: number | undefined
  /** The nats-server process id (to pause it with SIGSTOP); undefined for a server the test did not start. */
  pid?: number
  stop (): Promise<void>
}

export interface NatsServerOptions {
  /** Start nats-server's own MQTT listener too. */
  mqtt?: boolean
  /** Open the HTTP monitoring endpoint. */
  monitor?: boolean
  /** The client port; a free one when unset. */
  port?: number
  /** More lines for the server's config file (tls, authorization, cluster blocks). */
  config?: string[]
  /** The directory of the config file and JetStream's store, kept after stop() (a restart finds its streams); a temporary one when unset. */
  storeDir?: string
}

export async function startNatsServer (options: NatsServerOptions = {}): Promise<NatsServer> {
  const store = options.storeDir === undefined ? tempDir('nats') : { dir: options.storeDir, remove: () => {} }
  const port = options.port ?? await freePort()
  const mqttPort = options.mqtt === true ? await freePort() : undefined
  const monitorPort = options.monitor === true ? await freePort() : undefined
  const conf = path.join(store.dir, 'nats.conf')
  const name = `roost_test_${port}`
  const lines = [
    `server_name: ${name}`,
    `listen: 127.0.0.1:${port}`,
    `jetstream { store_dir: "${path.join(store.dir, 'js')}" }`
  ]
  if (mqttPort !== undefined) lines.push(`mqtt { listen: 127.0.0.1:${mqttPort} }`)
  if (monitorPort !== undefined) lines.push(`http: 127.0.0.1:${monitorPort}`)
  lines.push(...(options.config ?? []))
  writeFileSync(conf, lines.join('\n') + '\n')
  const child: ChildProcess = spawn(NATS_SERVER, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
  let errors = ''
  child.stderr?.setEncoding('utf8').on('data', (text: string) => { errors += text })
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    }
    store.remove()
  }
  const exited = once(child, 'exit').then(() => { throw new Error(`nats-server exited: ${errors}`) })
  exited.catch(() => {})
  try {
    await Promise.race([waitForPort(port), exited])
    if (mqttPort !== undefined) await Promise.race([waitForPort(mqttPort), exited])
    if (monitorPort !== undefined) await Promise.race([waitForPort(monitorPort), exited])
  } catch (error) {
    await stop()
    throw error
  }
  return { name, port, url: `nats://127.0.0.1:${port}`, mqttPort, monitorPort, pid: child.pid, stop }
}

/** The subjects the named NATS connection subscribes to, as the monitoring endpoint lists them, without its request inboxes (JetStream's replies and key-value watches). */
export async function subjectsOf (server: NatsServer, connectionName: string): Promise<string[]> {
  const response = await fetch(`http://127.0.0.1:${server.monitorPort ?? 0}/connz?subs=1`)
  const body = await response.json() as { connections?: Array<{ name?: string, subscriptions_list?: string[] }> }
  const connection = (body.connections ?? []).find((entry) => entry.name === connectionName)
  return (connection?.subscriptions_list ?? []).filter((subject) => !subject.startsWith('_INBOX.')).sort()
}

/**
 * `count` nats-server processes routed to one another as one NATS cluster (a cluster block with
 * routes to every other; JetStream in a cluster needs each server's name, set above, and the
 * cluster's name), each with its monitoring endpoint.
 */
export async function startNatsCluster (count: number): Promise<NatsServer[]> {
  const routePorts: number[] = []
  for (let index = 0; index < count; index++) routePorts.push(await freePort())
  const servers: NatsServer[] = []
  try {
    for (const routePort of routePorts) {
      const routes = routePorts.filter((port) => port !== routePort).map((port) => `"nats-route://127.0.0.1:${port}"`)
      servers.push(await startNatsServer({ monitor: true, config: [`cluster { name: roost_test, listen: 127.0.0.1:${routePort}, routes: [${routes.join(', ')}] }`] }))
    }
  } catch (error) {
    await Promise.all(servers.map(async (server) => { await server.stop() }))
    throw error
  }
  return servers
}

/** The server of `servers` that holds the named NATS connection, by its monitoring endpoint. */
export async function serverHolding (servers: NatsServer[], connectionName: string): Promise<NatsServer | undefined> {
  for (const server of servers) {
    const response = await fetch(`http://127.0.0.1:${server.monitorPort ?? 0}/connz`)
    const body = await response.json() as { connections?: Array<{ name?: string }> }
    if ((body.connections ?? []).some((entry) => entry.name === connectionName)) return server
  }
  return undefined
}

/** What a server's /jsz says of the JetStream cluster, and of each stream with `streams`. */
interface Jsz {
  meta_cluster?: { leader?: string }
  account_details?: Array<{ stream_detail?: Array<{ name: string, config?: { num_replicas?: number }, cluster?: { leader?: string } }> }>
}

async function jsz (server: NatsServer, streams = false): Promise<Jsz> {
  const response = await fetch(`http://127.0.0.1:${server.monitorPort ?? 0}/jsz${streams ? '?accounts=true&streams=true&config=true' : ''}`)
  return await response.json() as Jsz
}

/** Polls every 100 ms, at most `attempts` times, until `probe` gives a value; throws naming `what` after. */
async function poll<T> (what: string, attempts: number, probe: () => Promise<T | undefined>): Promise<T> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${what}: not within ${attempts} looks`)
}

/**
 * Resolves once every server of a NATS cluster knows the JetStream meta leader: before that
 * elections run and JetStream's API answers nothing, so a node started earlier finds no JetStream.
 */
export async function jetStreamReady (servers: NatsServer[]): Promise<void> {
  for (const server of servers) {
    await poll(`JetStream meta leader seen by ${server.name}`, 300, async () => (await jsz(server)).meta_cluster?.leader || undefined)
  }
}

/** The stream as the cluster's servers report it: its leader and its replica count, once it has a leader. */
export async function streamState (servers: NatsServer[], stream: string): Promise<{ leader: NatsServer, replicas: number }> {
  return await poll(`leader of stream ${stream}`, 300, async () => {
    for (const server of servers) {
      const details = (await jsz(server, true)).account_details ?? []
      for (const detail of details.flatMap((account) => account.stream_detail ?? [])) {
        if (detail.name !== stream) continue
        const leader = servers.find((candidate) => candidate.name === detail.cluster?.leader)
        if (leader !== undefined) return { leader, replicas: detail.config?.num_replicas ?? 1 }
      }
    }
    return undefined
  })
}
