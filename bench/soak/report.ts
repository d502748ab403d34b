// What a soak run found: the summary (also written as JSON for the smoke test), the verdict that
// fails a run on a crash, a lost or duplicated message, a broken rule, or growth without bound,
// and the text printed while it runs and at its end.
import type { BrokerExit } from './broker-process'
import type { LedgerTotals } from './ledger'
import type { ResourceFigures } from './monitor'
import type { SoakOptions } from './options'

/** Below this many seconds of load, the RSS floors are too close together to show a trend. */
const TREND_MIN_SEC = 120

export interface SoakSummary {
  /** True when the verdict found no failure. */
  passed: boolean
  /** Why the run failed, one line each; empty when it passed. */
  failures: string[]
  /** The seed the run used, to replay it. */
  seed: number
  /** Seconds the load actually ran (shorter than asked when the broker crashed). */
  durationSec: number
  /** What the ledger found, and the QoS 0 flood's figures. */
  messages: LedgerTotals & {
    /** QoS 0 flood messages sent, and delivered to the two readers that keep up. */
    bulkSent: number
    bulkDelivered: number
    /** Payloads without a soak header on the soak's topics. */
    foreign: number
  }
  /** 0 or 1: the broker is never restarted. */
  crashes: number
  /** How and when the broker ended by itself, with the last lines of its log. */
  crash?: { code: number | null, signal: string | null, afterSec: number, logTail: string[] }
  /** The broker's RSS, fds and CPU, and the soak's own CPU. */
  resources: ResourceFigures
  /** The broker's log: lines, bytes and where it is (kept after a failing run). */
  log: { lines: number, bytes: number, linesPerMinute: number, file: string }
  /** Broken rules by kind (a takeover refused, an oversized packet acknowledged ...), with counts. */
  violations: Record<string, number>
  /** Everything else that was counted, by name. */
  counters: Record<string, number>
  /** How the broker ended after SIGTERM; absent after a crash. */
  brokerExit?: { code: number | null, signal: string | null }
}

/** The failures of a run; none means it passed. */
export function verdict (summary: Omit<SoakSummary, 'passed' | 'failures'>, options: SoakOptions): string[] {
  const failures: string[] = []
  const { messages, resources: r, log } = summary
  if (summary.crash !== undefined) {
    failures.push(`the broker crashed after ${summary.crash.afterSec} s (exit code ${String(summary.crash.code)}, signal ${String(summary.crash.signal)})`)
  }
  if (messages.lost > 0) failures.push(`${messages.lost} acknowledged messages lost (${messages.lostExamples.slice(0, 3).join('; ')})`)
  if (messages.duplicates > 0) failures.push(`${messages.duplicates} QoS 2 messages delivered twice`)
  if (messages.oversizedDelivered > 0) failures.push(`${messages.oversizedDelivered} messages over max_packet_size delivered`)
  if (messages.acked === 0) failures.push('no message was acknowledged: the run measured nothing')
  for (const [what, count] of Object.entries(summary.violations)) failures.push(`${what} (${count} times)`)
  if (r.rssMaxMb > options.maxRssMb) failures.push(`RSS reached ${r.rssMaxMb} MB, over the ${options.maxRssMb} MB limit`)
  if (summary.durationSec >= TREND_MIN_SEC && r.rssFloorLateMb > r.rssFloorEarlyMb * 1.5 + 50) {
    failures.push(`RSS keeps growing: its floor went from ${r.rssFloorEarlyMb} MB to ${r.rssFloorLateMb} MB`)
  }
  if (summary.crash === undefined && r.fdsFinal > r.fdsStart + options.fdSlack) {
    failures.push(`open fds did not come back: ${r.fdsStart} at the start, ${r.fdsFinal} once every client had gone`)
  }
  if (log.linesPerMinute > options.maxLogLinesPerMin) failures.push(`the log grew by ${log.linesPerMinute} lines a minute (limit ${options.maxLogLinesPerMin})`)
  const exit = summary.brokerExit
  if (exit !== undefined && exit.code !== 0) failures.push(`roost ended with code ${String(exit.code)} (signal ${String(exit.signal)}) after SIGTERM`)
  return failures
}

export function crashOf (exit: BrokerExit, startedAtMs: number, logTail: string[]): NonNullable<SoakSummary['crash']> {
  return { code: exit.code, signal: exit.signal, afterSec: Math.round((exit.atMs - startedAtMs) / 1000), logTail }
}


function clock (seconds: number): string {
  const whole = Math.round(seconds)
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`
}

const n = (value: number): string => value.toLocaleString('en-US')

/** The figures of one progress line. */
export interface Progress {
  /** Seconds since the load started. */
  elapsedSec: number
  totals: LedgerTotals
  /** QoS 0 flood messages sent so far. */
  bulkSent: number
  rssMb: number
  fds: number
  logLines: number
  /** Percentages of one core since the start: the broker's and the soak's own. */
  cpu: { broker: number, generator: number }
}

export function progressLine (p: Progress, options: SoakOptions): string {
  return `soak ${clock(p.elapsedSec)}/${clock(options.durationSec)}  sent ${n(p.totals.sent)}  acked ${n(p.totals.acked)}  ` +
    `delivered ${n(p.totals.delivered)}  dup ${p.totals.duplicates}  bulk ${n(p.bulkSent)}  ` +
    `rss ${p.rssMb.toFixed(0)} MB  fds ${p.fds}  log ${n(p.logLines)} lines  cpu broker ${p.cpu.broker}% soak ${p.cpu.generator}%`
}

export function summaryText (s: SoakSummary): string {
  const m = s.messages
  const r = s.resources
  const lines = [
    '',
    `soak ${s.passed ? 'PASSED' : 'FAILED'} (seed ${s.seed})`,
    `  duration            ${clock(s.durationSec)} of load`,
    `  messages            sent ${n(m.sent)}, acknowledged ${n(m.acked)}, owed ${n(m.owed)} deliveries, delivered ${n(m.delivered)}`,
    `  lost acknowledged   ${n(m.lost)}`,
    `  QoS 2 duplicates    ${n(m.duplicates)}`,
    `  oversized delivered ${n(m.oversizedDelivered)}`,
    `  bulk QoS 0          sent ${n(m.bulkSent)}, delivered to readers ${n(m.bulkDelivered)}`,
    `  crashes             ${s.crashes}`,
    `  RSS                 min ${r.rssMinMb} MB, max ${r.rssMaxMb} MB, final ${r.rssFinalMb} MB (floor ${r.rssFloorEarlyMb} → ${r.rssFloorLateMb} MB)`,
    `  fds                 start ${r.fdsStart}, max ${r.fdsMax}, final ${r.fdsFinal}`,
    `  log                 ${n(s.log.lines)} lines, ${n(s.log.bytes)} bytes (${n(s.log.linesPerMinute)} a minute) in ${s.log.file}`,
    `  CPU over the load   broker ${r.brokerCpuPercent}% of a core, soak ${r.generatorCpuPercent}%`
  ]
  const counters = Object.entries(s.counters).sort(([a], [b]) => a.localeCompare(b))
  if (counters.length > 0) lines.push('  events:', ...counters.map(([name, count]) => `    ${name}: ${n(count)}`))
  if (s.crash !== undefined) lines.push('  last log lines before the crash:', ...s.crash.logTail.map((line) => `    ${line}`))
  if (s.failures.length > 0) lines.push('  failures:', ...s.failures.map((failure) => `    - ${failure}`))
  return lines.join('\n')
}
