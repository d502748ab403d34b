// Shared pieces of the bridge specs: a Roost broker with bridges on a free loopback port, a bridge
// written as mosquitto.conf lines for Debian's mosquitto, a mosquitto that lets only the bridge's
// user in, and a wait for a bridge's link state.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import type { Broker, BrokerOptions } from '../../lib'
import type { BridgeOptions } from '../../lib/bridge/options'
import type { BridgeLinkState } from '../../lib/events'
import { type Mosquitto, startMosquitto, WAIT_MS } from '../client/helpers'
import { type RunningBroker, startBroker } from '../clients/support'

/** A Roost broker on 127.0.0.1 running `bridges`. */
export async function startBridgingBroker (bridges: BridgeOptions[], options: Partial<BrokerOptions> = {}): Promise<RunningBroker> {
  return await startBroker({ ...options, bridges })
}

/** Resolves once the named bridge reports `state` (at once if it already does). */
export async function bridgeReaches (broker: Broker, name: string, state: BridgeLinkState): Promise<void> {
  if (broker.bridgeStates().some((status) => status.name === name && status.state === state)) return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      broker.off('bridgeState', listener)
      reject(new Error(`bridge ${name} did not reach '${state}' within ${WAIT_MS} ms: ${JSON.stringify(broker.bridgeStates())}`))
    }, WAIT_MS)
    function listener (status: { name: string, state: BridgeLinkState }): void {
      if (status.name !== name || status.state !== state) return
      clearTimeout(timer)
      broker.off('bridgeState', listener)
      resolve()
    }
    broker.on('bridgeState', listener)
  })
}

/** Resolves once `check()` holds, looking every 20 ms; fails after WAIT_MS naming `what`. */
export async function until (what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${WAIT_MS} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A bridge in mosquitto.conf words (for Debian's mosquitto as the side that runs it). */
export function mosquittoBridgeLines (name: string, port: number, protocol: 'mqttv311' | 'mqttv50', topics: string[], extra: string[] = []): string[] {
  return [
    `connection ${name}`,
    `address 127.0.0.1:${port}`,
    `remote_clientid ${name}`,
    `bridge_protocol_version ${protocol}`,
    'try_private true',
    'cleansession true',
    'restart_timeout 1',
    ...extra,
    ...topics.map((topic) => `topic ${topic}`)
  ]
}

/**
 * Debian's mosquitto (configuration in `dir`) with a password file and ACL: user `home` (password
 * `home-secret`) may use site/# only, anonymous clients nothing, so a message crossing proves the
 * bridge logged in as `home`. `tester` is connected and subscribed to site/# for the test.
 */
export async function startGuardedMosquitto (dir: string): Promise<{ mosquitto: Mosquitto, tester: MqttClient }> {
  const passwords = path.join(dir, 'passwd')
  for (const [user, password, create] of [['home', 'home-secret', true], ['tester', 'tester-secret', false]] as const) {
    const made = spawnSync('mosquitto_passwd', [...(create ? ['-c'] : []), '-b', passwords, user, password], { encoding: 'utf8' })
    assert.equal(made.status, 0, made.stderr)
  }
  const acl = path.join(dir, 'acl')
  writeFileSync(acl, 'user home\ntopic readwrite site/#\ntopic readwrite $SYS/broker/connection/#\n\nuser tester\ntopic readwrite #\n')
  const mosquitto = await startMosquitto(dir, [`password_file ${passwords}`, `acl_file ${acl}`])
  const tester = await mqtt.connectAsync({ host: '127.0.0.1', port: mosquitto.port, username: 'tester', password: 'tester-secret', clientId: 'tester', reconnectPeriod: 0 })
  await tester.subscribeAsync('site/#', { qos: 1 })
  return { mosquitto, tester }
}
