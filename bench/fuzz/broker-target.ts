// Target 2: a live broker, created in-process with createBroker and fed over real sockets on
// 127.0.0.1 through each feeder's listener. In-process, so that an exception escaping the broker
// is caught with its stack and tied to the batch that raised it (a `roost` child would only show
// an exit), and so that the heap can be measured after a forced collection. Each case gets a
// connection of its own, many at once; the broker must close every one whose bytes it refuses,
// and every one we end.
import { rmSync } from 'node:fs'
import { type Broker, type BrokerOptions, createBroker, type Logger } from '../../lib'
import type { FuzzCase } from './cases'
import type { Feeder, FuzzConnection } from './feeders/feeder'
import type { Finding } from './findings'

/** How long a case's connection stays open after its last byte, unless the broker closes it first. */
const HOLD_MS = 40
/** Longest wait for the broker to close a connection after we ended ours. A guard, not a timing. */
const CLOSE_GUARD_MS = 5000

export interface BrokerStats {
  cases: number
  /** Connections the broker answered at all (a CONNACK, mostly). */
  answered: number
  /** Connections the broker closed before we ended them: it refused something. */
  closedByBroker: number
  /** Connections we ended after the hold, the broker having accepted everything. */
  endedByUs: number
}

export interface BrokerTargetOptions {
  feeders: readonly Feeder[]
  /** Cases fed at once, each on a connection of its own. */
  concurrency: number
  /** The disk store's directory, emptied first; memory only when undefined. */
  persistence?: string
}

function persistenceOptions (directory: string | undefined): Partial<BrokerOptions> {
  if (directory === undefined) return {}
  rmSync(directory, { recursive: true, force: true })
  return { persistence: true, persistenceLocation: directory, persistenceSync: 'always' }
}

function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

export class BrokerTarget {
  readonly stats: BrokerStats = { cases: 0, answered: 0, closedByBroker: 0, endedByUs: 0 }
  /** The case that last used a client id or a local port: a log line names one of the two. */
  private readonly owners = new Map<string, FuzzCase>()
  private batchSeed = 0

  private constructor (readonly broker: Broker, readonly ports: readonly number[], private readonly options: BrokerTargetOptions,
    private readonly report: (finding: Finding) => void) {}

  static async start (options: BrokerTargetOptions, report: (finding: Finding) => void): Promise<BrokerTarget> {
    let target: BrokerTarget | undefined
    // Internal errors are logged at error level (Connection.protocolFailure); refusals are notices.
    const noop = (): void => {}
    const logger: Logger = { debug: noop, info: noop, notice: noop, warning: noop, error: (line) => target?.onErrorLine(line) }
    const broker = createBroker({
      listeners: options.feeders.map((feeder) => feeder.listener),
      sysIntervalSec: 0,
      // Incomplete packets and silent sockets are given up quickly, so a batch ends promptly.
      connectTimeoutSec: 5,
      incompletePacketTimeoutSec: 5,
      // Bounded queues: a fuzz session subscribed to '#' that never reads must not grow without end.
      maxQueuedMessages: 100,
      ...persistenceOptions(options.persistence)
    }, { logger })
    const bound = await broker.listen()
    target = new BrokerTarget(broker, bound.map((address) => address.port), options, report)
    broker.on('error', ({ error, clientId }) => target?.onErrorEvent(error, clientId))
    return target
  }

  /** Feeds every case of a batch, `concurrency` connections at a time, round robin over the feeders. */
  async runBatch (cases: readonly FuzzCase[], batchSeed: number): Promise<void> {
    this.batchSeed = batchSeed
    this.owners.clear()
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < cases.length) {
        const fuzzCase = cases[next++] as FuzzCase
        await this.feed(fuzzCase)
      }
    }
    await Promise.all(Array.from({ length: this.options.concurrency }, worker))
  }

  private async feed (fuzzCase: FuzzCase): Promise<void> {
    const which = fuzzCase.index % this.options.feeders.length
    const feeder = this.options.feeders[which] as Feeder
    let conn: FuzzConnection
    try {
      conn = await feeder.open(this.ports[which] as number)
    } catch (error) {
      this.report({ kind: 'hang', message: `${feeder.name}: could not connect: ${(error as Error).message}`, batchSeed: this.batchSeed, caseIndex: fuzzCase.index })
      return
    }
    this.stats.cases++
    this.owners.set(`127.0.0.1:${conn.localPort}`, fuzzCase)
    if (fuzzCase.clientId !== undefined) this.owners.set(fuzzCase.clientId, fuzzCase)
    for (const chunk of fuzzCase.chunks) {
      if (conn.isClosed) break
      conn.write(chunk)
      // A turn of the event loop between chunks, so the framer sees them apart.
      if (fuzzCase.chunks.length > 1) await new Promise((resolve) => setImmediate(resolve))
    }
    await Promise.race([conn.closed, sleep(HOLD_MS)])
    if (conn.answered) this.stats.answered++
    if (conn.isClosed) {
      this.stats.closedByBroker++
      return
    }
    this.stats.endedByUs++
    conn.end()
    await Promise.race([conn.closed, sleep(CLOSE_GUARD_MS)])
    if (!conn.isClosed) {
      this.report({
        kind: 'connection-left-open',
        message: `${feeder.name}: the broker kept a connection open ${CLOSE_GUARD_MS / 1000} s after the client ended it`,
        batchSeed: this.batchSeed,
        caseIndex: fuzzCase.index,
        how: fuzzCase.parts.map((part) => part.how).join(', '),
        bytes: Buffer.concat(fuzzCase.chunks)
      })
      conn.destroy()
    }
  }

  /** Fuzz connections the broker still counts as connected; 0 once every case has ended. */
  connectedClients (): number {
    return this.broker.clients().length
  }

  private culprit (name: string | undefined): FuzzCase | undefined {
    return name === undefined ? undefined : this.owners.get(name)
  }

  private onErrorLine (line: string): void {
    // `Client <id> (<address>): ...` or, before CONNECT is read, `Client <address>:<port>: ...`.
    const named = /^Client (\S+?):? /.exec(line)?.[1]
    this.blame('broker-error', line, this.culprit(named))
  }

  private onErrorEvent (error: Error, clientId: string | undefined): void {
    this.blame('broker-error', `error event: ${error.name}: ${error.message}`, this.culprit(clientId), error.stack)
  }

  private blame (kind: Finding['kind'], message: string, fuzzCase: FuzzCase | undefined, detail?: string): void {
    this.report({
      kind,
      message,
      batchSeed: this.batchSeed,
      caseIndex: fuzzCase?.index,
      how: fuzzCase?.parts.map((part) => part.how).join(', '),
      bytes: fuzzCase === undefined ? undefined : Buffer.concat(fuzzCase.chunks),
      detail
    })
  }

  close (): Promise<void> {
    return this.broker.close()
  }
}
