// npm run fuzz's command line: how much to do, from which seed, against which targets.
import { FEEDERS } from './feeders'

export interface FuzzOptions {
  /** Stop after this many mutated packets. */
  count: number
  /** Stop after this many minutes, whichever comes first. */
  minutes: number
  /** Seed of the first batch; every later batch's seed derives from it. */
  seed: number
  /** Cases (connections) per batch; the broker is checked after each batch. */
  batchCases: number
  /** Connections fed at once. */
  concurrency: number
  /** Parser only: no live broker. */
  parserOnly: boolean
  /** Transports to the live broker, by feeder name. */
  transports: string[]
  /** Seconds between progress lines. */
  progressSec: number
  /** Heap growth over the run, in MB, above which memory is reported as growing. */
  maxGrowthMb: number
  /** A directory for the live broker's disk store (persistence_sync always): what fuzz sessions leave is journaled too. */
  persistence: string | undefined
}

export const DEFAULTS: Readonly<FuzzOptions> = Object.freeze({
  count: 1_000_000,
  minutes: 10,
  seed: 0,
  batchCases: 200,
  concurrency: 32,
  parserOnly: false,
  transports: Object.keys(FEEDERS),
  progressSec: 30,
  maxGrowthMb: 16,
  persistence: undefined
})

export const USAGE = `npm run fuzz -- [options]
Generates valid MQTT 3.1, 3.1.1 and 5.0 packets of every type, mutates them, and feeds them to the
broker's parser in-process and to a live broker (in-process, over loopback TCP and WebSockets).
After each batch a real client (MQTT.js) must complete a QoS 1 round trip, every fuzz connection
must be gone, and the heap is read after a full collection. Stops at --count or --minutes, whichever comes first.
Exits 0 with no findings, 1 with findings, 2 on a bad command line.
  --count N          mutated packets to send (default ${DEFAULTS.count})
  --minutes M        longest run in minutes (default ${DEFAULTS.minutes})
  --seed S           seed of the first batch (default: from the clock, printed); a finding prints
                     its batch's seed, and --seed <it> replays that batch first
  --batch N          cases (connections) per batch (default ${DEFAULTS.batchCases})
  --concurrency N    connections fed at once (default ${DEFAULTS.concurrency})
  --transport T,...  live broker transports: ${Object.keys(FEEDERS).join(', ')} (default all)
  --parser-only      the in-process parser alone, no live broker
  --progress S       seconds between progress lines (default ${DEFAULTS.progressSec})
  --max-growth-mb N  heap growth reported as a leak (default ${DEFAULTS.maxGrowthMb})
  --persistence DIR  the live broker keeps its sessions and retained messages in a disk store in
                     DIR (persistence_sync always), so fuzzed packets that are accepted reach the
                     store's records too; DIR is emptied first
  --help             this text`

export class UsageError extends Error {}

const NUMBERS: Record<string, keyof FuzzOptions> = {
  count: 'count', minutes: 'minutes', seed: 'seed', batch: 'batchCases', concurrency: 'concurrency', progress: 'progressSec', 'max-growth-mb': 'maxGrowthMb'
}

export function parseFuzzOptions (argv: readonly string[]): FuzzOptions | 'help' {
  const options: FuzzOptions = { ...DEFAULTS, transports: [...DEFAULTS.transports], seed: (Date.now() % 0xffffffff) >>> 0 || 1 }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--help' || arg === '-h') return 'help'
    if (arg === '--parser-only') { options.parserOnly = true; continue }
    const [name, inline] = arg.startsWith('--') ? arg.slice(2).split('=', 2) as [string, string | undefined] : [arg, undefined]
    const value = inline ?? argv[++i]
    if (name !== 'transport' && name !== 'persistence' && NUMBERS[name] === undefined) throw new UsageError(`unknown option '${arg}'`)
    if (value === undefined) throw new UsageError(`${arg} needs a value`)
    if (name === 'persistence') {
      if (value.trim() === '') throw new UsageError('--persistence needs a directory')
      options.persistence = value
      continue
    }
    if (name === 'transport') {
      options.transports = value.split(',')
      const unknown = options.transports.find((t) => FEEDERS[t] === undefined)
      if (unknown !== undefined) throw new UsageError(`unknown transport '${unknown}': one of ${Object.keys(FEEDERS).join(', ')}`)
      continue
    }
    const number = Number(value)
    if (value.trim() === '' || !Number.isFinite(number) || number < 0) throw new UsageError(`--${name} needs a number of 0 or more, not '${value}'`)
    ;(options[NUMBERS[name] as keyof FuzzOptions] as number) = number
  }
  if (options.count <= 0 || options.minutes <= 0) throw new UsageError('--count and --minutes must be above 0')
  if (options.batchCases < 1 || options.concurrency < 1) throw new UsageError('--batch and --concurrency must be at least 1')
  options.seed = options.seed >>> 0
  return options
}
