// The durable scenario of `npm run bench`: what persistence costs. QoS 1 end to end into a
// subscriber that keeps its session, on Roost in memory, Roost with persistence_sync always and
// batch, and Mosquitto without and with `persistence true`; then the time each broker takes to
// start again over a store full of retained messages and sessions, and the disk bytes it used.
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { type BrokerName, startBroker } from './brokers'
import type { ScenarioResult } from './generator/measure'
import type { Job, Timing } from './generator/scenarios'
import { storeRetained } from './generator/scenarios'
import { cpuMicros } from './generator/proc'
import { WireClient } from './generator/wire'

/** Its name in BENCH_SCENARIOS. */
export const DURABLE_SCENARIO = 'durable'

export interface Variant {
  label: string
  broker: BrokerName
  /** mosquitto.conf lines; `<dir>` becomes the variant's data directory. */
  conf: string[]
}

export const VARIANTS: readonly Variant[] = [
  { label: 'Roost, in memory', broker: 'roost', conf: ['persistence false'] },
  { label: 'Roost, persistence_sync always', broker: 'roost', conf: ['persistence true', 'persistence_location <dir>', 'persistence_sync always'] },
  { label: 'Roost, persistence_sync batch', broker: 'roost', conf: ['persistence true', 'persistence_location <dir>', 'persistence_sync batch'] },
  { label: 'Mosquitto, in memory', broker: 'mosquitto', conf: ['persistence false'] },
  { label: 'Mosquitto, persistence true', broker: 'mosquitto', conf: ['persistence true', 'persistence_location <dir>/'] }
]

export interface DurableSizes {
  retained: number
  sessions: number
}

/** Scaled down from the 1,000,000 retained messages and 10,000 sessions, for a 2-core machine. */
export function durableSizes (quick: boolean): DurableSizes {
  return quick ? { retained: 5_000, sessions: 100 } : { retained: 100_000, sessions: 2_000 }
}

/** A data directory the broker can write even after dropping root (Mosquitto runs as `mosquitto` then). */
function dataDir (): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-bench-store-'))
  chmodSync(dir, 0o777)
  return dir
}

function confFor (variant: Variant, dir: string): string[] {
  return variant.conf.map((line) => line.replace('<dir>', dir))
}

function diskBytes (dir: string): number {
  let total = 0
  for (const name of readdirSync(dir)) total += statSync(path.join(dir, name)).size
  return total
}

export interface Restart {
  emptyStartMs: number
  restartMs: number
  /** CPU the broker used from its spawn to accepting connections over the full store: wall time on a busy machine says little. */
  restartCpuMs: number
  diskBytes: number
}

/** A broker writing a million retained messages at exit (Mosquitto does), or loading them, needs more than the usual seconds. */
const FULL_STORE_STOP_MS = 120_000

/** Fills a store with retained messages and persistent sessions, stops the broker, starts it again. */
export async function measureRestart (variant: Variant, sizes: DurableSizes): Promise<Restart> {
  const dir = dataDir()
  try {
    const conf = confFor(variant, dir)
    const first = await startBroker(variant.broker, { extraConf: conf, startTimeoutMs: FULL_STORE_STOP_MS })
    try {
      (await storeRetained(first.port, sizes.retained, 'restart-pub')).destroy()
      for (let i = 0; i < sizes.sessions; i++) {
        const client = await WireClient.connect(first.port, `restart-session-${i}`, { clean: false })
        await client.subscribe(`sessions/${i}/#`, 1)
        client.destroy()
      }
    } finally {
      await first.stop(FULL_STORE_STOP_MS)
    }
    const bytes = diskBytes(dir)
    const again = await startBroker(variant.broker, { extraConf: conf, startTimeoutMs: FULL_STORE_STOP_MS })
    const restartCpuMs = cpuMicros(again.pid) / 1000
    await again.stop(FULL_STORE_STOP_MS)
    return { emptyStartMs: first.startedInMs, restartMs: again.startedInMs, restartCpuMs, diskBytes: bytes }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Runs the durable scenario; `run` hands a job to the load generator. Returns a Markdown section. */
export async function measureDurable (run: (job: Job) => Promise<ScenarioResult>, plan: Timing, sizes: DurableSizes, rounds: number, log: (line: string) => void): Promise<string> {
  const flows = new Map<Variant, ScenarioResult | string>()
  const restarts = new Map<Variant, Restart | string>()
  for (let round = 1; round <= rounds; round++) {
    for (const variant of VARIANTS) {
      const dir = dataDir()
      try {
        const broker = await startBroker(variant.broker, { extraConf: confFor(variant, dir) })
        try {
          const result = await run({ scenario: 'qos1Durable', port: broker.port, pid: broker.pid, secure: false, webSocket: false, timing: plan })
          log(`durable      ${variant.label.padEnd(32)} round ${round} ${Math.round(result.rate).toString().padStart(9)}/s  ${result.cpuMicrosPerUnit.toFixed(2).padStart(7)} µs`)
          const previous = flows.get(variant)
          if (typeof previous !== 'object' || result.cpuMicrosPerUnit < previous.cpuMicrosPerUnit) flows.set(variant, result)
        } finally {
          await broker.stop()
        }
      } catch (error) {
        if (!flows.has(variant)) flows.set(variant, (error as Error).message)
        log(`durable      ${variant.label} failed: ${(error as Error).message}`)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }
  for (const variant of VARIANTS) {
    if (!variant.conf.includes('persistence true')) continue
    try {
      const restart = await measureRestart(variant, sizes)
      restarts.set(variant, restart)
      log(`restart      ${variant.label.padEnd(32)} ${restart.restartMs} ms, CPU ${Math.round(restart.restartCpuMs)} ms (empty ${restart.emptyStartMs} ms), ${restart.diskBytes} bytes on disk`)
    } catch (error) {
      restarts.set(variant, (error as Error).message)
      log(`restart      ${variant.label} failed: ${(error as Error).message}`)
    }
  }
  return durableMarkdown(flows, restarts, sizes)
}

function durableMarkdown (flows: Map<Variant, ScenarioResult | string>, restarts: Map<Variant, Restart | string>, sizes: DurableSizes): string {
  const n = (value: number): string => Math.round(value).toLocaleString('en-US')
  const memory = flows.get(VARIANTS[0] as Variant)
  const baseCpu = typeof memory === 'object' ? memory.cpuMicrosPerUnit : undefined
  const lines = [
    '### Durable: QoS 1 end to end into a persistent session (4 publishers × 100 in flight → 1 subscriber, clean session false)',
    '',
    '| broker | msg/s | broker CPU µs per message | CPU × Roost in memory |',
    '|---|---:|---:|---:|'
  ]
  for (const variant of VARIANTS) {
    const result = flows.get(variant)
    if (typeof result !== 'object') {
      lines.push(`| ${variant.label} | ${result ?? 'not measured'} | | |`)
      continue
    }
    const ratio = baseCpu === undefined ? '' : `${(result.cpuMicrosPerUnit / baseCpu).toFixed(2)}×`
    lines.push(`| ${variant.label} | ${n(result.rate)} | ${result.cpuMicrosPerUnit.toFixed(2)} | ${ratio} |`)
  }
  lines.push('', `### Restart over a full store: ${n(sizes.retained)} retained messages (64-byte payloads) and ${n(sizes.sessions)} persistent sessions`, '',
    '| broker | start, empty store | start, full store | its CPU | disk bytes per retained message |', '|---|---:|---:|---:|---:|')
  for (const [variant, restart] of restarts) {
    if (typeof restart !== 'object') {
      lines.push(`| ${variant.label} | ${restart} | | | |`)
      continue
    }
    lines.push(`| ${variant.label} | ${n(restart.emptyStartMs)} ms | ${n(restart.restartMs)} ms | ${n(restart.restartCpuMs)} ms | ${(restart.diskBytes / sizes.retained).toFixed(1)} |`)
  }
  lines.push('', 'Start times run from spawning the process to its port accepting connections; each broker loads its store before it listens; CPU is what the broker used until then. ' +
    'Mosquitto writes its file at shutdown (and every autosave_interval), Roost appends as it goes. ' +
    'The store sizes are scaled down from 1,000,000 retained messages and 10,000 sessions so a run fits a 2-core machine.')
  return lines.join('\n')
}
