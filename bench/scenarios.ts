// The rows of the bench table: what each scenario is called and what its figures count.
import type { ScenarioName } from './generator/scenarios'

export interface ScenarioRow {
  id: ScenarioName | 'nodeRed'
  label: string
  /** What the rate counts. */
  unit: string
  /** Rows not measured yet, shown so the table says what is missing. */
  todo?: string
}

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
    { id: 'nodeRed', label: 'Node-RED: roost out → roost in; core mqtt out → mqtt in', unit: 'msg', todo: 'TODO: needs the Node-RED nodes' }
  ]
}
