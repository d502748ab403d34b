// One fuzz run: batches of cases, each fed to the in-process parser and then to the live broker,
// followed by the checks (a real client's round trip, no fuzz connection left, the heap), until
// the count or the time is reached or the broker stops serving. Findings go to `print` as they come.
import { BrokerTarget } from './broker-target'
import { type FuzzCase, makeCase, mutatedCount } from './cases'
import { FEEDERS } from './feeders'
import { describeFinding, type Finding, Findings } from './findings'
import { memoryAfterCollection, MemoryTrend, roundTrip } from './health'
import type { FuzzOptions } from './options'
import { ParserTarget } from './parser-target'
import { followingSeed, Random } from './random'

/** Longest wait for every fuzz connection to be gone after a batch. A guard, not a timing. */
const IDLE_GUARD_MS = 10_000
const MB = 1024 * 1024

export interface FuzzSummary {
  seed: number
  batches: number
  cases: number
  /** Mutated packets generated and fed (to the parser, and to the broker unless parser-only). */
  mutatedPackets: number
  /** All packets, valid ones included. */
  packets: number
  seconds: number
  parser: ParserTarget['stats']
  broker: BrokerTarget['stats'] | undefined
  heapMb: { first: number, early: number, late: number, last: number } | undefined
  rssMb: { first: number, last: number } | undefined
  /** What the broker held at the end: sessions, subscriptions and retained messages the fuzz left. */
  brokerHeld: { sessions: number, subscriptions: number, retained: number } | undefined
  findings: Array<{ finding: Finding, count: number }>
}

function waitUntil (check: () => boolean, guardMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const deadline = Date.now() + guardMs
    const poll = (): void => {
      if (check()) resolve(true)
      else if (Date.now() > deadline) resolve(false)
      else setTimeout(poll, 20)
    }
    poll()
  })
}

function mb (bytes: number): number {
  return Math.round(bytes / MB * 10) / 10
}

export async function runFuzz (options: FuzzOptions, print: (line: string) => void): Promise<FuzzSummary> {
  const findings = new Findings((finding) => print(describeFinding(finding)))
  const report = (finding: Finding): void => findings.add(finding)
  const parser = new ParserTarget(report)
  let batchSeed = options.seed
  // In-process, an exception that escapes the broker lands here instead of ending the process.
  const onUncaught = (error: unknown): void => {
    const failure = error instanceof Error ? error : new Error(String(error))
    report({ kind: 'uncaught', message: `${failure.name}: ${failure.message}`, batchSeed, detail: failure.stack })
  }
  process.on('uncaughtException', onUncaught)
  process.on('unhandledRejection', onUncaught)
  const feeders = options.transports.map((name) => FEEDERS[name]).filter((feeder) => feeder !== undefined)
  const broker = options.parserOnly ? undefined : await BrokerTarget.start({ feeders, concurrency: options.concurrency, persistence: options.persistence }, report)
  const trend = new MemoryTrend()
  const startedMs = Date.now()
  const endMs = startedMs + options.minutes * 60_000
  let batches = 0
  let mutatedPackets = 0
  let packets = 0
  let nextProgressMs = startedMs + options.progressSec * 1000
  print(`fuzz: seed ${options.seed}, up to ${options.count} mutated packets or ${options.minutes} min; ` +
    (broker === undefined ? 'parser only' : `parser and a live broker over ${feeders.map((f) => f.name).join(', ')} (ports ${broker.ports.join(', ')})`))
  try {
    while (mutatedPackets < options.count && Date.now() < endMs) {
      const random = new Random(batchSeed)
      const cases: FuzzCase[] = []
      for (let i = 0; i < options.batchCases && mutatedPackets < options.count; i++) {
        const fuzzCase = makeCase(random, i)
        cases.push(fuzzCase)
        mutatedPackets += mutatedCount(fuzzCase)
        packets += fuzzCase.parts.length
      }
      for (const fuzzCase of cases) parser.run(fuzzCase, batchSeed)
      if (broker !== undefined) {
        await broker.runBatch(cases, batchSeed)
        if (!await waitUntil(() => broker.connectedClients() === 0, IDLE_GUARD_MS)) {
          report({ kind: 'connection-left-open', message: `${broker.connectedClients()} fuzz clients still connected ${IDLE_GUARD_MS / 1000} s after the batch ended`, batchSeed })
        }
        const problem = await roundTrip(broker.ports[0] as number, batches)
        if (problem !== undefined) {
          report({ kind: 'health-check', message: problem, batchSeed })
          print('fuzz: the broker no longer serves a real client; stopping')
          break
        }
        trend.add(await memoryAfterCollection())
      }
      batches++
      batchSeed = followingSeed(batchSeed)
      if (Date.now() >= nextProgressMs) {
        nextProgressMs += options.progressSec * 1000
        const seconds = (Date.now() - startedMs) / 1000
        const last = trend.samples[trend.samples.length - 1]
        print(`fuzz: ${Math.round(seconds)} s, ${batches} batches, ${mutatedPackets} mutated packets (${Math.round(mutatedPackets / seconds)}/s)` +
          (last === undefined ? '' : `, heap ${mb(last.heapBytes)} MB, rss ${mb(last.rssBytes)} MB`) + `, ${findings.size} findings`)
      }
    }
  } finally {
    process.off('uncaughtException', onUncaught)
    process.off('unhandledRejection', onUncaught)
  }
  const seconds = (Date.now() - startedMs) / 1000
  const growth = trend.growthBytes()
  if (growth !== undefined && growth.late - growth.early > options.maxGrowthMb * MB) {
    report({ kind: 'memory-growth', message: `heap floor grew from ${mb(growth.early)} MB to ${mb(growth.late)} MB over the run`, batchSeed: options.seed })
  }
  const snapshot = broker?.broker.statsSnapshot()
  const first = trend.samples[0]
  const last = trend.samples[trend.samples.length - 1]
  await broker?.close()
  return {
    seed: options.seed,
    batches,
    cases: parser.stats.cases,
    mutatedPackets,
    packets,
    seconds,
    parser: parser.stats,
    broker: broker?.stats,
    heapMb: first === undefined || last === undefined ? undefined : { first: mb(first.heapBytes), early: mb(growth?.early ?? first.heapBytes), late: mb(growth?.late ?? last.heapBytes), last: mb(last.heapBytes) },
    rssMb: first === undefined || last === undefined ? undefined : { first: mb(first.rssBytes), last: mb(last.rssBytes) },
    brokerHeld: snapshot === undefined ? undefined : { sessions: snapshot.clients.total, subscriptions: snapshot.subscriptions, retained: snapshot.retained },
    findings: findings.all()
  }
}

export function summaryText (summary: FuzzSummary): string {
  const rate = Math.round(summary.mutatedPackets / Math.max(summary.seconds, 0.001))
  const lines = [
    `fuzz summary (seed ${summary.seed})`,
    `  ${summary.mutatedPackets} mutated packets (${summary.packets} in all) in ${summary.cases} cases, ${summary.batches} batches, ${Math.round(summary.seconds)} s: ${rate} mutated packets/s`,
    `  parser: ${summary.parser.frames} frames, ${summary.parser.decoded} decoded, ${summary.parser.refused} refused with a protocol error`
  ]
  if (summary.broker !== undefined) lines.push(`  broker: ${summary.broker.cases} connections, ${summary.broker.answered} answered, ${summary.broker.closedByBroker} closed by the broker, ${summary.broker.endedByUs} ended by the client`)
  if (summary.heapMb !== undefined && summary.rssMb !== undefined) {
    lines.push(`  heap after collection: first ${summary.heapMb.first} MB, floor early ${summary.heapMb.early} MB, floor late ${summary.heapMb.late} MB, last ${summary.heapMb.last} MB; rss ${summary.rssMb.first} -> ${summary.rssMb.last} MB`)
  }
  if (summary.brokerHeld !== undefined) lines.push(`  left in the broker: ${summary.brokerHeld.sessions} sessions, ${summary.brokerHeld.subscriptions} subscriptions, ${summary.brokerHeld.retained} retained messages`)
  lines.push(summary.findings.length === 0 ? '  no findings' : `  ${summary.findings.length} distinct findings:`)
  for (const { finding, count } of summary.findings) lines.push(describeFinding(finding, count))
  return lines.join('\n')
}
