// Shared pieces of the bridge specs: a Roost broker with bridges on a free loopback port, a bridge
// written as mosquitto.conf lines for Debian's mosquitto, and a wait for a bridge's link state.
import type { Broker, BrokerOptions } from '../../lib'
import type { BridgeOptions } from '../../lib/bridge/options'
import type { BridgeLinkState } from '../../lib/events'
import { WAIT_MS } from '../client/helpers'
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
