// One soak run from start to verdict: the broker in its own process, every kind of client against
// it for the set time, then the drain (last acknowledgements, persistent subscribers back online,
// owed messages given time to arrive), every client closed, fds given time to come back, and the
// broker stopped with SIGTERM. A broker that ends by itself is a crash: reported, never restarted.
import { rmSync } from 'node:fs'
import { BadInput } from './bad-input'
import { BrokerProcess, type BrokerExit } from './broker-process'
import { Churn } from './churn'
import { SoakContext } from './context'
import { Ledger } from './ledger'
import { Monitor } from './monitor'
import type { SoakOptions } from './options'
import { crashOf, progressLine, type SoakSummary, verdict } from './report'
import { SlowConsumers } from './slow-consumers'
import { TrackedTraffic } from './tracked-traffic'

/** Longest the drain waits for owed messages, and how long it waits without progress. */
const DRAIN_MAX_MS = 30_000
const DRAIN_STALL_MS = 5000
/** Longest wait for the broker's fds to come back once every client has gone. */
const FD_SETTLE_MS = 15_000

export async function runSoak (options: SoakOptions, print: (line: string) => void): Promise<SoakSummary> {
  const broker = await BrokerProcess.start(options)
  try {
    return await soak(broker, options, print)
  } finally {
    // On success the broker has ended already; after an error in the soak itself, end it here.
    if (broker.alive) await broker.stop()
  }
}

async function soak (broker: BrokerProcess, options: SoakOptions, print: (line: string) => void): Promise<SoakSummary> {
  const startedAtMs = Date.now()
  const ledger = new Ledger()
  const ctx = new SoakContext(options, broker.port, ledger)
  const monitor = new Monitor(broker)
  let stopping = false
  let crash: BrokerExit | undefined
  const crashed = new Promise<void>((resolve) => broker.onExit((exit) => {
    if (stopping) return
    crash = exit
    print(`soak: roost ended by itself (exit code ${String(exit.code)}, signal ${String(exit.signal)}); nothing is restarted`)
    resolve()
  }))
  print(`soak: roost pid ${broker.pid} on 127.0.0.1:${broker.port} for ${options.durationSec} s, seed ${options.seed}; config and log in ${broker.dir}`)

  const tracked = new TrackedTraffic(ctx)
  const slow = new SlowConsumers(ctx)
  const badInput = new BadInput(ctx)
  const churn = new Churn(ctx)
  const setup = Promise.all([tracked.start(), slow.start()])
  // After a crash the setup may still fail; that is not news any more.
  setup.catch(() => {})
  try {
    await Promise.race([setup, crashed])
  } catch (error) {
    ctx.close()
    slow.close()
    tracked.close()
    throw error
  }
  badInput.start()
  churn.start()
  const loadStartMs = Date.now()
  const progress = setInterval(() => {
    monitor.take()
    print(progressLine({
      elapsedSec: (Date.now() - loadStartMs) / 1000,
      totals: ledger.totals(),
      bulkSent: ctx.counters.get('bulk: sent') ?? 0,
      rssMb: monitor.current.rssBytes / 1024 / 1024,
      fds: monitor.current.fds,
      logLines: broker.logLines,
      cpu: monitor.cpuPercent()
    }, options))
  }, options.progressSec * 1000)

  await Promise.race([ctx.sleep(options.durationSec * 1000), crashed])
  const loadSec = Math.round((Date.now() - loadStartMs) / 1000)
  clearInterval(progress)
  ctx.stopLoad()
  monitor.endOfLoad()
  slow.close()
  badInput.close()
  churn.close()
  if (crash === undefined) {
    print('soak: load ended; waiting for the last acknowledgements and owed messages')
    const settled = tracked.settle()
    settled.catch(() => {})
    await Promise.race([settled, crashed])
    await Promise.race([drain(ledger, ctx), crashed])
  }
  const totals = ledger.totals()
  tracked.close()
  ctx.close()
  if (crash === undefined) await Promise.race([settleFds(monitor, options, ctx), crashed])
  monitor.take()
  monitor.stop()
  stopping = true
  const crashedWith = crash as BrokerExit | undefined
  const exit = crashedWith === undefined ? await broker.stop() : undefined
  if (crashedWith !== undefined) await broker.stop()

  const minutes = (Date.now() - startedAtMs) / 60_000
  const partial: Omit<SoakSummary, 'passed' | 'failures'> = {
    seed: options.seed,
    durationSec: loadSec,
    messages: { ...totals, bulkSent: ctx.counters.get('bulk: sent') ?? 0, bulkDelivered: slow.bulkDelivered, foreign: ledger.foreign() },
    crashes: crashedWith === undefined ? 0 : 1,
    resources: monitor.figures(),
    log: { lines: broker.logLines, bytes: broker.logBytes, linesPerMinute: Math.round(broker.logLines / minutes), file: broker.logFile },
    violations: Object.fromEntries(ctx.violations),
    counters: Object.fromEntries(ctx.counters)
  }
  if (crashedWith !== undefined) partial.crash = crashOf(crashedWith, startedAtMs, broker.logTail())
  if (exit !== undefined) partial.brokerExit = { code: exit.code, signal: exit.signal }
  const failures = verdict(partial, options)
  if (failures.length === 0 && !options.keep) rmSync(broker.dir, { recursive: true, force: true })
  return { passed: failures.length === 0, failures, ...partial }
}

/** Waits until nothing owed is missing, or nothing more arrives for a while, bounded. */
async function drain (ledger: Ledger, ctx: SoakContext): Promise<void> {
  const until = Date.now() + DRAIN_MAX_MS
  let lost = ledger.totals().lost
  let progressAtMs = Date.now()
  while (lost > 0 && Date.now() < until && Date.now() - progressAtMs < DRAIN_STALL_MS) {
    await ctx.sleep(500)
    const now = ledger.totals().lost
    if (now < lost) progressAtMs = Date.now()
    lost = now
  }
}

/** Every client is closed: waits (bounded) for the broker's fds to come back near their start. */
async function settleFds (monitor: Monitor, options: SoakOptions, ctx: SoakContext): Promise<void> {
  const until = Date.now() + FD_SETTLE_MS
  const target = monitor.figures().fdsStart + options.fdSlack
  while (Date.now() < until && monitor.take() && monitor.current.fds > target) await ctx.sleep(500)
}
