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
  // Set by a crash: the exit of a broker that ended while the soak did not ask it to.
  const state: { stopping: boolean, crash?: BrokerExit } = { stopping: false }
  const crashed = new Promise<void>((resolve) => broker.onExit((exit) => {
    if (state.stopping) return
    state.crash = exit
    print(`soak: roost ended by itself (exit code ${String(exit.code)}, signal ${String(exit.signal)}); nothing is restarted`)
    resolve()
  }))
  print(`soak: roost pid ${broker.pid} on 127.0.0.1:${broker.port} for ${options.durationSec} s, seed ${options.seed}; config and log in ${broker.dir}`)

  const tracked = new TrackedTraffic(ctx)
  const slow = new SlowConsumers(ctx)
  const badInput = new BadInput(ctx)
  const churn = new Churn(ctx)
  try {
    await untilCrash(Promise.all([tracked.start(), slow.start()]), crashed)
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
  if (state.crash === undefined) {
    print('soak: load ended; waiting for the last acknowledgements and owed messages')
    await untilCrash(tracked.settle(), crashed)
    await untilCrash(drain(ledger, ctx), crashed)
  }
  const totals = ledger.totals()
  tracked.close()
  ctx.close()
  if (state.crash === undefined) await untilCrash(settleFds(monitor, ctx), crashed)
  monitor.take()
  monitor.stop()
  state.stopping = true
  const exit = await broker.stop()

  const minutes = (Date.now() - startedAtMs) / 60_000
  const partial: Omit<SoakSummary, 'passed' | 'failures'> = {
    seed: options.seed,
    durationSec: loadSec,
    messages: { ...totals, bulkSent: ctx.counters.get('bulk: sent') ?? 0, bulkDelivered: slow.bulkDelivered, foreign: ledger.foreign() },
    crashes: state.crash === undefined ? 0 : 1,
    resources: monitor.figures(),
    log: { lines: broker.logLines, bytes: broker.logBytes, linesPerMinute: Math.round(broker.logLines / minutes), file: broker.logFile },
    violations: Object.fromEntries(ctx.violations),
    counters: Object.fromEntries(ctx.counters)
  }
  if (state.crash !== undefined) partial.crash = crashOf(state.crash, startedAtMs, broker.logTail())
  else partial.brokerExit = { code: exit.code, signal: exit.signal }
  const failures = verdict(partial, options)
  if (failures.length === 0 && !options.keep) rmSync(broker.dir, { recursive: true, force: true })
  return { passed: failures.length === 0, failures, ...partial }
}

/** Waits for a step, or for a crash; a step that fails after the crash is no news any more. */
async function untilCrash (step: Promise<unknown>, crashed: Promise<void>): Promise<void> {
  step.catch(() => {})
  await Promise.race([step, crashed])
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

/** Every client is closed: waits (bounded) for the broker's fds to come back to their start; the verdict allows a slack. */
async function settleFds (monitor: Monitor, ctx: SoakContext): Promise<void> {
  const until = Date.now() + FD_SETTLE_MS
  const target = monitor.figures().fdsStart
  while (Date.now() < until && monitor.take() && monitor.current.fds > target) await ctx.sleep(500)
}
