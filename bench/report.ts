// Turns the measured figures into the Markdown tables and the SVG chart of Roost's ratios.
import type { BrokerName } from './brokers'
import { BROKER_LABELS } from './brokers'
import type { ScenarioResult } from './generator/measure'
import type { BridgeBenchResult } from './bridge-throughput'
import type { NodeRedResult, PathResult } from './nodes-throughput'
import { NODE_RED_LABEL, type ScenarioRow } from './scenarios'

export type Results = Map<string, Partial<Record<BrokerName, ScenarioResult | string>>>

export interface ReportInput {
  title: string
  machine: string
  brokers: BrokerName[]
  /** Brokers left out, with the reason. */
  skipped: Array<{ name: BrokerName, why: string }>
  rows: ScenarioRow[]
  results: Results
  /** The Node-RED scenario: both paths, or why it failed; absent when not run. */
  nodeRed?: NodeRedResult | string
  /** The bridge scenario: Roost and Mosquitto each bridging to a remote Mosquitto, or why it failed; absent when not run. */
  bridge?: BridgeBenchResult | string
  notes: string[]
}

const peersOf = (brokers: BrokerName[]): BrokerName[] => brokers.filter((name) => name !== 'roost')

function integer (value: number): string {
  return Math.round(value).toLocaleString('en-US')
}

function fixed (value: number, digits: number): string {
  return value.toFixed(digits)
}

function resultOf (input: ReportInput, row: ScenarioRow, broker: BrokerName): ScenarioResult | string | undefined {
  return input.results.get(row.id)?.[broker]
}

/** One table: a row per scenario, a column per broker, then Roost ÷ each peer. */
function table (input: ReportInput, heading: string, ratioNote: string,
  pick: (result: ScenarioResult) => number | undefined, format: (value: number) => string): string {
  const peers = peersOf(input.brokers)
  const head = ['scenario', ...input.brokers.map((name) => BROKER_LABELS[name]), ...peers.map((peer) => `Roost ÷ ${BROKER_LABELS[peer]}`)]
  const lines = [`### ${heading}`, '', ratioNote, '', `| ${head.join(' | ')} |`, `|${head.map((_, i) => i === 0 ? '---' : '---:').join('|')}|`]
  for (const row of input.rows) {
    const cells = [row.label]
    const values = new Map<BrokerName, number>()
    for (const broker of input.brokers) {
      const result = resultOf(input, row, broker)
      if (result === undefined) { cells.push('—'); continue }
      if (typeof result === 'string') { cells.push(`failed: ${result.replace(/\|/g, '/').split('\n')[0] ?? ''}`); continue }
      const value = pick(result)
      if (value === undefined) { cells.push('—'); continue }
      values.set(broker, value)
      cells.push(format(value))
    }
    const roost = values.get('roost')
    for (const peer of peers) {
      const other = values.get(peer)
      cells.push(roost !== undefined && other !== undefined && other > 0 ? `${fixed(roost / other, 2)}×` : '—')
    }
    lines.push(`| ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

function detailTable (input: ReportInput, heading: string, rowId: string, head: string[], cells: (result: ScenarioResult) => string[]): string {
  const lines = [`### ${heading}`, '', `| broker | ${head.join(' | ')} |`, `|---|${head.map(() => '---:').join('|')}|`]
  for (const broker of input.brokers) {
    const result = input.results.get(rowId)?.[broker]
    if (result === undefined || typeof result === 'string') continue
    lines.push(`| ${BROKER_LABELS[broker]} | ${cells(result).join(' | ')} |`)
  }
  lines.push('')
  return lines.join('\n')
}

/**
 * The Node-RED scenario: one flow in a Node-RED runtime, `roost out` → `roost in` through the
 * embedded broker in process, and core `mqtt out` → `mqtt in` through the same broker over TCP.
 * Both paths run in one process, so CPU per message is all of it: runtime, nodes and broker.
 */
function nodeRedSection (input: ReportInput, level: string): string {
  const result = input.nodeRed
  if (result === undefined) return ''
  const lines = [`${level} ${NODE_RED_LABEL}`, '']
  if (typeof result === 'string') return [...lines, `Failed: ${result.split('\n')[0] ?? ''}`, ''].join('\n')
  const { roost, core, aedes, bare } = result
  lines.push(`Node-RED ${result.nodeRedVersion} runtime loading the built roost.js, QoS 0, ${integer(result.messages)} messages of ` +
    `${result.payloadBytes} bytes per path, at most 500 in flight. CPU is the Node-RED process's user + system time per message ` +
    '(runtime, nodes and broker together; for the TCP paths also MQTT.js at both ends of the hop). The last path is core nodes on Aedes ' +
    'running inside Node-RED behind a TCP listener, which is how node-red-contrib-aedes serves a flow. The junction → junction row has no MQTT at all: ' +
    'the same two hops through the runtime, so it is the most any pair of nodes can reach here.', '',
  '| path | msg/s | CPU per message (µs) | ÷ core nodes via Roost (msg/s) | ÷ core nodes via Aedes (msg/s) |', '|---|---:|---:|---:|---:|')
  const ratio = (path: PathResult, base: PathResult | undefined): string => base !== undefined && base.rate > 0 ? `${fixed(path.rate / base.rate, 2)}×` : '—'
  const paths: Array<[string, PathResult | undefined]> = [
    ['roost out → roost in (embedded broker, in process)', roost],
    ['mqtt out → mqtt in (core nodes, same Roost over TCP)', core],
    ['mqtt out → mqtt in (core nodes, Aedes in process over TCP)', aedes],
    ['junction → junction (Node-RED alone, no MQTT)', bare]
  ]
  for (const [label, path] of paths) {
    if (path !== undefined) lines.push(`| ${label} | ${integer(path.rate)} | ${fixed(path.cpuMicrosPerMessage, 2)} | ${ratio(path, core)} | ${ratio(path, aedes)} |`)
  }
  lines.push('')
  return lines.join('\n')
}

/** Bridged throughput: the same QoS 1 stream over a Roost bridge and a Mosquitto bridge to one remote Mosquitto. */
function bridgeSection (input: ReportInput, level: string): string {
  const result = input.bridge
  if (result === undefined) return ''
  const lines = [`${level} Bridge: publisher → bridging broker → \`topic bench/# out 1\` → remote Mosquitto → subscriber`, '']
  if (typeof result === 'string') return [...lines, `Failed: ${result.split('\n')[0] ?? ''}`, ''].join('\n')
  lines.push(`QoS 1 end to end, ${integer(result.runs[0]?.messages ?? 0)} messages of ${result.payloadBytes} bytes, MQTT.js publishing with at most 500 unacknowledged. ` +
    'Rate: messages the remote subscriber received per second; CPU: user + system time of each broker process per message.', '',
  '| bridging broker | msg/s | bridging broker CPU per message (µs) | remote Mosquitto CPU per message (µs) | missing |', '|---|---:|---:|---:|---:|')
  for (const run of result.runs) {
    lines.push(`| ${BROKER_LABELS[run.bridging]} | ${integer(run.rate)} | ${fixed(run.bridgingCpuMicrosPerMessage, 2)} | ${fixed(run.remoteCpuMicrosPerMessage, 2)} | ${integer(run.missing)} |`)
  }
  lines.push('')
  return lines.join('\n')
}

export function markdown (input: ReportInput): string {
  const sections = [
    `## ${input.title}`,
    '',
    input.machine,
    '',
    ...input.skipped.map(({ name, why }) => `- ${BROKER_LABELS[name]} not measured: ${why}.`),
    ...(input.skipped.length > 0 ? [''] : []),
    table(input, 'Broker CPU per message (µs, user + system)',
      'CPU time of the broker process divided by the messages it delivered (per connection for the connections row). Lower is better; a ratio under 1× means Roost uses less.',
      (r) => r.cpuMicrosPerUnit, (v) => fixed(v, 2)),
    '',
    table(input, 'Throughput (per second)',
      'Messages delivered to subscribers per second (fan-out and retained: deliveries; connections: clients connected and subscribed). Higher is better.',
      (r) => r.rate, integer),
    '',
    table(input, 'Broker peak memory (MB, VmHWM)',
      'Peak resident memory of the broker process during the scenario. Lower is better.',
      (r) => r.peakRssBytes / 1048576, (v) => fixed(v, 1)),
    '',
    detailTable(input, 'Latency (ms, publish → delivery)', 'latency', ['p50', 'p99', 'max', 'messages'],
      (r) => r.latency === undefined ? ['—', '—', '—', '—'] : [fixed(r.latency.p50Ms, 3), fixed(r.latency.p99Ms, 3), fixed(r.latency.maxMs, 3), integer(r.count)]),
    '',
    detailTable(input, 'Connections', 'connections', ['clients', 'connect + subscribe / s', 'broker memory per client (KB)', 'per client, second half (KB)'],
      (r) => r.connections === undefined
        ? ['—', '—', '—', '—']
        : [integer(r.connections.clients), integer(r.rate), fixed(r.connections.bytesPerClient / 1024, 2), fixed(r.connections.marginalBytesPerClient / 1024, 2)]),
    'Memory per client is the growth of the broker\'s resident memory (VmRSS) from idle to all clients connected and subscribed, divided by the clients; the second-half figure leaves out the heap every broker grows on its first few thousand clients.',
    '',
    nodeRedSection(input, '###'),
    bridgeSection(input, '###')
  ]
  const drops = [...input.results.entries()].flatMap(([id, byBroker]) => Object.entries(byBroker)
    .filter(([, r]) => typeof r === 'object' && r.dropped > 0)
    .map(([broker, r]) => `- ${BROKER_LABELS[broker as BrokerName]} did not deliver ${integer((r as ScenarioResult).dropped)} messages in ${id}.`))
  const generatorBound = [...input.results.entries()].flatMap(([id, byBroker]) => Object.entries(byBroker)
    .filter(([, r]) => typeof r === 'object' && r.generatorCpuPercent >= 90 && r.brokerCpuPercent < 90)
    .map(([broker, r]) => `- ${BROKER_LABELS[broker as BrokerName]} in ${id}: the load generator used ${Math.round((r as ScenarioResult).generatorCpuPercent)}% of a core and the broker ${Math.round((r as ScenarioResult).brokerCpuPercent)}%, so the rate is what the generator could drive (a lower bound); CPU per message stands.`))
  drops.push(...generatorBound)
  if (drops.length > 0 || input.notes.length > 0) sections.push('Notes:', '', ...input.notes.map((note) => `- ${note}`), ...drops, '')
  return sections.join('\n')
}

function escapeXml (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

const BAR_COLOURS: Record<BrokerName, string> = { roost: '#2f7d32', aedes: '#1f6fb2', mosquitto: '#b2561f' }

/** Horizontal bars: Roost's CPU per message as a fraction of each peer's, one group per scenario. */
export function svgChart (input: ReportInput): string {
  const peers = peersOf(input.brokers)
  const rows = input.rows
  const ratios = rows.map((row) => peers.map((peer) => {
    const roost = resultOf(input, row, 'roost')
    const other = resultOf(input, row, peer)
    if (typeof roost !== 'object' || typeof other !== 'object' || other.cpuMicrosPerUnit <= 0) return undefined
    return roost.cpuMicrosPerUnit / other.cpuMicrosPerUnit
  }))
  const labelWidth = 330
  const plotWidth = 420
  const barHeight = 14
  const groupHeight = Math.max(1, peers.length) * (barHeight + 3) + 12
  const top = 58
  const height = top + rows.length * groupHeight + 40
  const width = labelWidth + plotWidth + 80
  const maxRatio = Math.max(1.2, ...ratios.flat().filter((v): v is number => v !== undefined)) * 1.05
  const x = (ratio: number): number => labelWidth + (ratio / maxRatio) * plotWidth
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${escapeXml(`Roost broker CPU per message ÷ peer's (lower is better; 1× = equal)`)}</text>`,
    `<text x="10" y="38" fill="#555">${escapeXml(input.title)}</text>`
  ]
  peers.forEach((peer, i) => {
    parts.push(`<rect x="${labelWidth + i * 130}" y="44" width="10" height="10" fill="${BAR_COLOURS[peer]}"/>`,
      `<text x="${labelWidth + i * 130 + 14}" y="53">vs ${BROKER_LABELS[peer]}</text>`)
  })
  rows.forEach((row, r) => {
    const y0 = top + r * groupHeight + 6
    parts.push(`<text x="${labelWidth - 8}" y="${y0 + barHeight}" text-anchor="end">${escapeXml(row.label.split(':')[0] ?? row.label)}</text>`)
    peers.forEach((peer, p) => {
      const ratio = ratios[r]?.[p]
      const y = y0 + p * (barHeight + 3)
      if (ratio === undefined) {
        parts.push(`<text x="${labelWidth + 4}" y="${y + barHeight - 3}" fill="#999">n/a</text>`)
        return
      }
      parts.push(`<rect x="${labelWidth}" y="${y}" width="${(x(ratio) - labelWidth).toFixed(1)}" height="${barHeight}" fill="${BAR_COLOURS[peer]}"/>`,
        `<text x="${(x(ratio) + 4).toFixed(1)}" y="${y + barHeight - 3}">${ratio.toFixed(2)}×</text>`)
    })
  })
  const axisBottom = top + rows.length * groupHeight
  parts.push(`<line x1="${labelWidth}" y1="${top}" x2="${labelWidth}" y2="${axisBottom}" stroke="#333"/>`,
    `<line x1="${x(1).toFixed(1)}" y1="${top - 2}" x2="${x(1).toFixed(1)}" y2="${axisBottom}" stroke="#c00" stroke-dasharray="4 3"/>`,
    `<text x="${x(1).toFixed(1)}" y="${axisBottom + 16}" text-anchor="middle" fill="#c00">1×</text>`,
    `<text x="10" y="${height - 10}" fill="#555">${escapeXml(input.machine)}</text>`,
    '</svg>', '')
  return parts.join('\n')
}

/** The README's part: the CPU table and the chart, with the date and machine. */
export function readmeSummary (input: ReportInput): string {
  return [
    input.machine,
    '',
    table(input, 'Broker CPU per message (µs, user + system)',
      'Lower is better; a ratio under 1× means Roost uses less CPU than that broker for the same work.',
      (r) => r.cpuMicrosPerUnit, (v) => fixed(v, 2)).replace('### ', '#### '),
    '',
    '![Roost broker CPU per message as a fraction of Aedes\'s and Mosquitto\'s](bench/results/latest.svg)',
    '',
    nodeRedSection(input, '####'),
    'Every table (throughput, memory, latency, connections) and the notes: [bench/results/latest.md](bench/results/latest.md).',
    ''
  ].join('\n')
}
