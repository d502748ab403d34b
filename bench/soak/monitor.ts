// The broker's resources over the run, read from /proc once a second: resident memory, open file
// descriptors and CPU time, with the soak's own CPU time beside it so a run can tell whether the
// broker or the load generator was the limit.
import type { BrokerProcess, BrokerSample } from './broker-process'

const SAMPLE_MS = 1000
const MB = 1024 * 1024

export interface ResourceFigures {
  rssMinMb: number
  rssMaxMb: number
  rssFinalMb: number
  fdsStart: number
  fdsMax: number
  fdsFinal: number
  /** Broker CPU time over the load, as a percentage of one core. */
  brokerCpuPercent: number
  /** The soak's own CPU time over the load, as a percentage of one core. */
  generatorCpuPercent: number
  /** Lowest RSS in the second quarter of the load and in the last quarter, in MB: a steady climb shows between them. */
  rssFloorEarlyMb: number
  rssFloorLateMb: number
}

/** One RSS reading during the load, for the trend. */
interface Point {
  /** When it was taken, ms since the epoch. */
  atMs: number
  rssBytes: number
}

export class Monitor {
  private readonly points: Point[] = []
  private readonly fdsStart: number
  private fdsMax: number
  private rssMin = Infinity
  private rssMax = 0
  private last: BrokerSample
  private readonly first: BrokerSample
  private readonly startedAtMs = Date.now()
  private readonly generatorStart = process.cpuUsage()
  private loadEnd: { atMs: number, brokerCpuMicros: number, generator: NodeJS.CpuUsage } | undefined
  private timer: NodeJS.Timeout | undefined

  constructor (private readonly broker: BrokerProcess) {
    const first = broker.sample()
    if (first === undefined) throw new Error('the broker ended before it could be measured')
    this.first = first
    this.last = first
    this.fdsStart = first.fds
    this.fdsMax = first.fds
    this.take()
    this.timer = setInterval(() => this.take(), SAMPLE_MS)
  }

  /** The latest reading (the last one taken before the broker ended, if it did). */
  get current (): BrokerSample {
    return this.last
  }

  /** Takes a reading now; false once the broker has ended. */
  take (): boolean {
    const sample = this.broker.sample()
    if (sample === undefined) return false
    this.last = sample
    this.rssMin = Math.min(this.rssMin, sample.rssBytes)
    this.rssMax = Math.max(this.rssMax, sample.rssBytes)
    this.fdsMax = Math.max(this.fdsMax, sample.fds)
    if (this.loadEnd === undefined) this.points.push({ atMs: Date.now(), rssBytes: sample.rssBytes })
    return true
  }

  /** CPU so far as percentages of one core: the broker's and the soak's own. */
  cpuPercent (): { broker: number, generator: number } {
    const elapsedMicros = (Date.now() - this.startedAtMs) * 1000
    const generator = process.cpuUsage(this.generatorStart)
    return {
      broker: percent(this.last.cpuMicros - this.first.cpuMicros, elapsedMicros),
      generator: percent(generator.user + generator.system, elapsedMicros)
    }
  }

  /** Marks the end of the load: CPU figures and the RSS trend cover the load alone. */
  endOfLoad (): void {
    this.take()
    this.loadEnd = { atMs: Date.now(), brokerCpuMicros: this.last.cpuMicros, generator: process.cpuUsage(this.generatorStart) }
  }

  stop (): void {
    clearInterval(this.timer)
  }

  figures (): ResourceFigures {
    const end = this.loadEnd ?? { atMs: Date.now(), brokerCpuMicros: this.last.cpuMicros, generator: process.cpuUsage(this.generatorStart) }
    const elapsedMicros = (end.atMs - this.startedAtMs) * 1000
    return {
      rssMinMb: round(this.rssMin / MB),
      rssMaxMb: round(this.rssMax / MB),
      rssFinalMb: round(this.last.rssBytes / MB),
      fdsStart: this.fdsStart,
      fdsMax: this.fdsMax,
      fdsFinal: this.last.fds,
      brokerCpuPercent: percent(end.brokerCpuMicros - this.first.cpuMicros, elapsedMicros),
      generatorCpuPercent: percent(end.generator.user + end.generator.system, elapsedMicros),
      rssFloorEarlyMb: round(this.floor(0.25, 0.5) / MB),
      rssFloorLateMb: round(this.floor(0.75, 1) / MB)
    }
  }

  /** Lowest RSS between two fractions of the load's duration (large messages make peaks; floors show a leak). */
  private floor (from: number, to: number): number {
    const first = this.points[0]
    const last = this.points[this.points.length - 1]
    if (first === undefined || last === undefined) return 0
    const span = last.atMs - first.atMs
    let lowest = Infinity
    for (const point of this.points) {
      const at = (point.atMs - first.atMs) / (span || 1)
      if (at >= from && at <= to) lowest = Math.min(lowest, point.rssBytes)
    }
    return Number.isFinite(lowest) ? lowest : 0
  }
}

function percent (micros: number, elapsedMicros: number): number {
  return elapsedMicros > 0 ? Math.round(micros / elapsedMicros * 100) : 0
}

function round (mb: number): number {
  return Math.round(mb * 10) / 10
}
