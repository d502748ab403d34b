// The rows of the bench table: what each scenario is called and what its figures count.
import type { ScenarioName } from './generator/scenarios'

export interface ScenarioRow {
  id: ScenarioName
  label: string
  /** What the rate counts. */
  unit: string
}

/** The Node-RED scenario runs in its own process (a Node-RED runtime), not through the generator. */
export const NODE_RED_SCENARIO = 'nodeRed'
export const NODE_RED_LABEL = 'Node-RED: roost out → roost in (embedded broker) beside core mqtt out → mqtt in (same broker over TCP)'

export function scenarioRows (retainedTopics: number, retainedSubscribers: number, latencyRate: number, connections: number): ScenarioRow[] {
  const n = (value: number): string => value.toLocaleString('en-US')
  return [
    { id: 'fanIn', label: 'fan-in QoS 0: 4 publishers → 1 wildcard subscriber', unit: 'msg' },
    { id: 'fanOut', label: 'fan-out QoS 0: 1 publisher → 50 subscribers', unit: 'delivery' },
    { id: 'qos1', label: 'QoS 1 end to end: 4 publishers × 100 in flight → 1 subscriber', unit: 'msg' },
    { id: 'qos2', label: 'QoS 2 end to end: 4 publishers × 100 in flight → 1 subscriber', unit: 'msg' },
    { id: 'retained', label: `retained storm: ${n(retainedTopics)} topics → ${retainedSubscribers} clients subscribing to #`, unit: 'delivery' },
    { id: 'latency', label: `latency: ${n(latencyRate)} msg/s QoS 0`, unit: 'msg' },
    { id: 'connections', label: `connections: ${n(connections)} clients connect + subscribe`, unit: 'client' },
    { id: 'tlsHandshakes', label: 'TLS handshakes: TLS 1.3 + CONNECT/CONNACK + close, 50 at a time', unit: 'handshake' },
    { id: 'tlsQos0', label: 'TLS fan-in QoS 0: 4 publishers → 1 wildcard subscriber', unit: 'msg' },
    { id: 'tlsQos1', label: 'TLS QoS 1 end to end: 4 publishers × 100 in flight → 1 subscriber', unit: 'msg' }
  ]
}
