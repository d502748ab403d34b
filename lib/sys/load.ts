// Load averages as Mosquitto computes them for $SYS/broker/load/...: each tick turns the counter's
// growth into a per-minute rate and folds it into exponentially decaying averages over 1, 5 and
// 15 minutes, like the Unix load average: average = rate + e^(-elapsed/window) x (average - rate).

/** The counters that have load averages, in the order of their $SYS topics. */
export const LOAD_SERIES = [
  'messages/received', 'messages/sent',
  'publish/received', 'publish/sent', 'publish/dropped',
  'bytes/received', 'bytes/sent',
  'sockets', 'connections'
] as const

export type LoadSeries = typeof LOAD_SERIES[number]
export const LOAD_WINDOWS = [['1min', 60], ['5min', 300], ['15min', 900]] as const
export type LoadWindow = typeof LOAD_WINDOWS[number][0]

export type LoadCounters = Record<LoadSeries, number>
export type LoadValues = Record<LoadSeries, Record<LoadWindow, number>>

function zeroValues (): LoadValues {
  const values = {} as LoadValues
  for (const series of LOAD_SERIES) values[series] = { '1min': 0, '5min': 0, '15min': 0 }
  return values
}

export class LoadAverages {
  /** Per-minute averages per series and window. */
  readonly values: LoadValues = zeroValues()
  /** The latest per-second rate per series, over the last interval. */
  readonly ratesPerSecond = {} as Record<LoadSeries, number>
  private last: LoadCounters | undefined
  private lastAtMs = 0

  constructor () {
    for (const series of LOAD_SERIES) this.ratesPerSecond[series] = 0
  }

  /** Folds in the counters read at `nowMs`. The first call only sets the baseline. */
  update (counters: LoadCounters, nowMs: number): void {
    const previous = this.last
    const elapsedSec = (nowMs - this.lastAtMs) / 1000
    this.last = { ...counters }
    this.lastAtMs = nowMs
    if (previous === undefined || elapsedSec <= 0) return
    for (const series of LOAD_SERIES) {
      const perSecond = (counters[series] - previous[series]) / elapsedSec
      this.ratesPerSecond[series] = perSecond
      const perMinute = perSecond * 60
      const averages = this.values[series]
      for (const [window, windowSec] of LOAD_WINDOWS) {
        const decay = Math.exp(-elapsedSec / windowSec)
        averages[window] = perMinute + decay * (averages[window] - perMinute)
      }
    }
  }
}
