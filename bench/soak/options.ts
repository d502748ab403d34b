// What a soak run does and for how long: every figure from a command-line flag (`--minutes 30`)
// or the matching environment variable (SOAK_MINUTES=30), over defaults sized for a 2-core
// machine shared with other work. `--small` is the preset of the smoke test.

export interface SoakOptions {
  /** How long the load runs, in seconds (the drain and the checks come after). */
  durationSec: number
  /** Seed of every random choice, so a run can be replayed. */
  seed: number
  /** Messages a second from all fast MQTT.js publishers together. */
  fastRate: number
  /** Fast MQTT.js publishers, alternately MQTT 3.1.1 and MQTT 5. */
  fastPublishers: number
  /** Largest payload of a fast message, in bytes. */
  fastPayloadBytes: number
  /** QoS 0 messages a second from the raw bulk publisher, the flood slow consumers fall behind on. */
  bulkRate: number
  /** `max_packet_size` written to the broker's config, in bytes. */
  maxPacketBytes: number
  /** Seconds between two large messages (near max_packet_size) from each large publisher. */
  largeEverySec: number
  /** Seconds between two packets over max_packet_size, which the broker must refuse. */
  oversizeEverySec: number
  /** Slow consumers alive at once (paused, then reading again, or never again). */
  slowConsumers: number
  /** Connections a second that send mutated packets or random bytes. */
  malformedRate: number
  /** Connect/disconnect cycles a second. */
  churnRate: number
  /** Takeovers of a client id a second. */
  takeoverRate: number
  /** Half-open sockets held at once. */
  halfOpen: number
  /** Seconds between progress lines. */
  progressSec: number
  /** Where to write the summary as JSON; nowhere when empty. */
  jsonFile: string
  /** Resident memory above which the run fails, in MB. */
  maxRssMb: number
  /** Log lines a minute above which the broker's log counts as a flood. */
  maxLogLinesPerMin: number
  /** Open fds the broker may hold above its start once every client has gone. */
  fdSlack: number
  /** Keep the broker's config and log after a passing run (a failing run always keeps them). */
  keep: boolean
}

export const DEFAULTS: Readonly<SoakOptions> = Object.freeze({
  durationSec: 180,
  seed: 1,
  fastRate: 300,
  fastPublishers: 6,
  fastPayloadBytes: 2048,
  bulkRate: 4000,
  maxPacketBytes: 4 * 1024 * 1024,
  largeEverySec: 3,
  oversizeEverySec: 10,
  slowConsumers: 8,
  malformedRate: 4,
  churnRate: 10,
  takeoverRate: 2,
  halfOpen: 20,
  progressSec: 10,
  jsonFile: '',
  maxRssMb: 1536,
  maxLogLinesPerMin: 30_000,
  fdSlack: 10,
  keep: false
})

/** The smoke test's slice: about 20 seconds, small counts, every kind of client still there. */
const SMALL: Partial<SoakOptions> = {
  durationSec: 20,
  fastRate: 120,
  fastPublishers: 4,
  bulkRate: 500,
  largeEverySec: 2,
  oversizeEverySec: 5,
  slowConsumers: 6,
  malformedRate: 3,
  churnRate: 5,
  takeoverRate: 1,
  halfOpen: 10,
  progressSec: 5
}

type NumberKey = { [K in keyof SoakOptions]: SoakOptions[K] extends number ? K : never }[keyof SoakOptions]

/** Numeric flags: the option each sets and the factor from the flag's unit to the option's. */
const NUMBER_FLAGS: Record<string, { key: NumberKey, scale: number }> = {
  minutes: { key: 'durationSec', scale: 60 },
  seconds: { key: 'durationSec', scale: 1 },
  seed: { key: 'seed', scale: 1 },
  'fast-rate': { key: 'fastRate', scale: 1 },
  'fast-publishers': { key: 'fastPublishers', scale: 1 },
  'fast-payload': { key: 'fastPayloadBytes', scale: 1 },
  'bulk-rate': { key: 'bulkRate', scale: 1 },
  'max-packet-mb': { key: 'maxPacketBytes', scale: 1024 * 1024 },
  'large-every': { key: 'largeEverySec', scale: 1 },
  'oversize-every': { key: 'oversizeEverySec', scale: 1 },
  slow: { key: 'slowConsumers', scale: 1 },
  'malformed-rate': { key: 'malformedRate', scale: 1 },
  'churn-rate': { key: 'churnRate', scale: 1 },
  'takeover-rate': { key: 'takeoverRate', scale: 1 },
  'half-open': { key: 'halfOpen', scale: 1 },
  progress: { key: 'progressSec', scale: 1 },
  'max-rss-mb': { key: 'maxRssMb', scale: 1 },
  'max-log-per-min': { key: 'maxLogLinesPerMin', scale: 1 },
  'fd-slack': { key: 'fdSlack', scale: 1 }
}

export const USAGE = `npm run soak -- [options]   (or SOAK_<OPTION>=value, e.g. SOAK_MINUTES=30)
A rate, a count or an "every" of 0 leaves that kind of client out.
  --minutes N | --seconds N   how long the load runs (default ${DEFAULTS.durationSec / 60} minutes)
  --small                     the smoke test's preset: ~20 s, small counts
  --seed N                    seed of the random choices (default ${DEFAULTS.seed})
  --fast-rate N               MQTT.js messages a second, all publishers (default ${DEFAULTS.fastRate})
  --fast-publishers N         MQTT.js publishers, 3.1.1 and 5 alternately (default ${DEFAULTS.fastPublishers})
  --fast-payload N            largest fast payload in bytes (default ${DEFAULTS.fastPayloadBytes})
  --bulk-rate N               raw QoS 0 flood, messages a second (default ${DEFAULTS.bulkRate})
  --max-packet-mb N           the broker's max_packet_size (default ${DEFAULTS.maxPacketBytes / 1024 / 1024})
  --large-every S             seconds between large messages per large publisher (default ${DEFAULTS.largeEverySec})
  --oversize-every S          seconds between packets over the limit (default ${DEFAULTS.oversizeEverySec})
  --slow N                    slow consumers at once (default ${DEFAULTS.slowConsumers})
  --malformed-rate N          malformed connections a second (default ${DEFAULTS.malformedRate})
  --churn-rate N              connect/disconnect cycles a second (default ${DEFAULTS.churnRate})
  --takeover-rate N           client id takeovers a second (default ${DEFAULTS.takeoverRate})
  --half-open N               half-open sockets held at once (default ${DEFAULTS.halfOpen})
  --progress S                seconds between progress lines (default ${DEFAULTS.progressSec})
  --max-rss-mb N              fail above this broker RSS (default ${DEFAULTS.maxRssMb})
  --max-log-per-min N         fail above this many log lines a minute (default ${DEFAULTS.maxLogLinesPerMin})
  --fd-slack N                fds the broker may keep above its start at the end (default ${DEFAULTS.fdSlack})
  --json FILE                 also write the summary as JSON
  --keep                      keep the broker's config and log after a passing run`

export class UsageError extends Error {}

function envName (flag: string): string {
  return `SOAK_${flag.toUpperCase().replace(/-/g, '_')}`
}

function parseNumber (flag: string, text: string): number {
  const value = Number(text)
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) throw new UsageError(`--${flag} needs a number of 0 or more, not '${text}'`)
  return value
}

/** Reads the environment, then the command line (which wins). Throws UsageError. */
export function parseSoakOptions (argv: readonly string[], env: NodeJS.ProcessEnv): SoakOptions | 'help' {
  const options: SoakOptions = { ...DEFAULTS }
  if (argv.includes('--small') || env.SOAK_SMALL === '1') Object.assign(options, SMALL)
  for (const [flag, { key, scale }] of Object.entries(NUMBER_FLAGS)) {
    const text = env[envName(flag)]
    if (text !== undefined) options[key] = parseNumber(flag, text) * scale
  }
  if (env.SOAK_JSON !== undefined) options.jsonFile = env.SOAK_JSON
  if (env.SOAK_KEEP === '1') options.keep = true
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--help' || arg === '-h') return 'help'
    if (arg === '--small') continue
    if (arg === '--keep') { options.keep = true; continue }
    const [name, inline] = arg.startsWith('--') ? arg.slice(2).split('=', 2) as [string, string | undefined] : [arg, undefined]
    const numeric = NUMBER_FLAGS[name]
    if (numeric === undefined && name !== 'json') throw new UsageError(`unknown option '${arg}'`)
    const value = inline ?? argv[++i]
    if (value === undefined) throw new UsageError(`${arg} needs a value`)
    if (numeric === undefined) options.jsonFile = value
    else options[numeric.key] = parseNumber(name, value) * numeric.scale
  }
  if (options.durationSec <= 0) throw new UsageError('the run needs a duration above 0')
  if (options.maxPacketBytes < 64 * 1024) throw new UsageError('--max-packet-mb must leave room for a large message (at least 64 KB)')
  return options
}
