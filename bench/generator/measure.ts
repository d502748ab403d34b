// Snapshots taken at the start and end of a measured window: wall time, the broker's CPU time
// and a message count, from which the per-message figures follow.
import { performance } from 'node:perf_hooks'
import { cpuMicros, memoryBytes } from './proc'

export interface Snapshot {
  timeMs: number
  cpuMicros: number
  count: number
  /** The generator's own CPU time, to tell when it rather than the broker sets the pace. */
  generatorCpuMicros: number
}

export function snapshot (pid: number, count: number): Snapshot {
  const own = process.cpuUsage()
  return { timeMs: performance.now(), cpuMicros: cpuMicros(pid), count, generatorCpuMicros: own.user + own.system }
}

/** What one scenario measured on one broker. */
export interface ScenarioResult {
  /** Messages delivered to subscribers (or clients connected) in the measured window. */
  count: number
  seconds: number
  /** count / seconds: deliveries (or connections) per second. */
  rate: number
  /** Broker CPU time (user + system) in the window, divided by count. */
  cpuMicrosPerUnit: number
  /** Broker resident memory at its peak during the run (VmHWM), in bytes. */
  peakRssBytes: number
  /** Share of one core the load generator used in the window: near 100, it set the pace. */
  generatorCpuPercent: number
  /** Share of one core the broker used in the window. */
  brokerCpuPercent: number
  /** Messages a broker did not deliver (QoS 0 drops), if any. */
  dropped: number
  latency?: { p50Ms: number, p99Ms: number, maxMs: number }
  /** Broker memory growth per client over the whole run, and over its second half only. */
  connections?: { clients: number, bytesPerClient: number, marginalBytesPerClient: number }
}

export function summarize (pid: number, start: Snapshot, end: Snapshot, dropped = 0): ScenarioResult {
  const count = end.count - start.count
  const seconds = (end.timeMs - start.timeMs) / 1000
  return {
    count,
    seconds,
    rate: count / seconds,
    cpuMicrosPerUnit: count > 0 ? (end.cpuMicros - start.cpuMicros) / count : 0,
    peakRssBytes: memoryBytes(pid).peak,
    generatorCpuPercent: (end.generatorCpuMicros - start.generatorCpuMicros) / (seconds * 1e4),
    brokerCpuPercent: (end.cpuMicros - start.cpuMicros) / (seconds * 1e4),
    dropped
  }
}

export function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
