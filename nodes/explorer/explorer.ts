// One broker's topic explorer: its index, fed by the embedded broker's message observer (and its
// retained store at the start) or, for a remote broker, by a subscription to '#' opened when a view
// first looks; and the deltas pushed to open views over Node-RED's comms, batched and rate-limited.
import type { Broker } from '../../lib'
import type { RoostTransport, TransportMessage } from '../shared/transport'
import { type IndexedMessage, type LevelNode, type TopicEntry, TopicIndex, type TopicIndexLimits } from './topic-index'
import { summary, type TopicSummary } from './views'

/** The key of the root among the levels a view shows: no topic holds U+0000 [MQTT-4.7.3-2]. */
export const ROOT_KEY = '\u0000'
/** Views of one broker kept track of at most (each editor tab is one). */
const MAX_VIEWS = 32

/** What one open view shows: its expanded levels (their rows are on screen) and its selected topic. */
export interface ViewState {
  /** Paths of the levels whose children the view lists; ROOT_KEY for the top level. */
  shown: string[]
  selected?: string
}

/** At most this many delta batches a second per broker (one every 250 ms). */
export const PUSH_EVERY_MS = 250
/** A view says it is open at least this often; past this silence pushing stops. */
export const VIEW_ALIVE_MS = 30_000
/** Topics in one batch at most; past it the batch says `overflow` and the view reloads what it shows. */
export const MAX_TOPICS_PER_BATCH = 2000

/** One changed topic in a delta batch. */
export interface TopicDelta extends TopicSummary {
  topic: string
  /** The topic appeared since the last batch: the view fetches the levels it shows again to draw its row. */
  isNew: boolean
}

export interface DeltaBatch {
  /** When the batch was made (ms since epoch), the clock the ages in the view count from. */
  at: number
  topics: TopicDelta[]
  /** [path, topics, messages] of every level at and above a changed topic: exact counts, no sums kept in the view. */
  levels: Array<[string, number, number]>
  /** More topics changed than one batch carries: the view reloads the rows it shows instead. */
  overflow: boolean
  topicCount: number
  topicsNotIndexed: number
}

/** A view state standing for "every level": a view that said nothing of what it shows. */
const ALL = '\u0000all'
/** Prefix of a selected topic among the shown keys (U+0000 is in no topic). */
const SELECTED = '\u0000selected:'

/** The key of the level a topic's row is listed in. */
function parentKey (topic: string): string {
  const slash = topic.lastIndexOf('/')
  return slash < 0 ? ROOT_KEY : topic.slice(0, slash)
}

/**
 * Adds the levels at and above a topic not in `seen` yet (the first one seen ends the walk: its
 * parents are in), each with exact counts; with `shown`, only levels whose row is on a view's screen.
 */
function levelsAbove (entry: TopicEntry, seen: Set<LevelNode>, levels: Array<[string, number, number]>, shown: Set<string> | undefined): void {
  let path = entry.topic
  for (let level = entry.level; level.parent !== undefined; level = level.parent) {
    if (seen.has(level)) return
    seen.add(level)
    if (shown === undefined || shown.has(parentKey(path))) levels.push([path, level.topics, level.messages])
    path = path.slice(0, Math.max(0, path.lastIndexOf('/')))
  }
}

export type PublishComms = (topic: string, data: unknown) => void

export class BrokerExplorer {
  readonly index: TopicIndex
  private stopFeed: (() => void) | undefined
  /** Open views by the id each one made up, with what they show and until when they count as open. */
  private readonly views = new Map<string, { shown: Set<string>, selected: string | undefined, aliveUntil: number }>()
  private timer: NodeJS.Timeout | undefined
  private readonly record = (message: IndexedMessage): void => { this.index.record(message) }

  constructor (
    readonly id: string,
    readonly transport: RoostTransport,
    readonly broker: Broker | undefined,
    limits: TopicIndexLimits,
    private readonly push: PublishComms,
    private readonly clock: () => number = Date.now
  ) {
    this.index = new TopicIndex(limits, clock)
    if (broker !== undefined && limits.maxTopics > 0) {
      // What came before the node started to watch: the retained messages held now.
      broker.forEachRetained(this.record)
      this.stopFeed = broker.observeMessages(this.record)
    }
  }

  /** The comms topic a view of this broker listens on. */
  get commsTopic (): string { return `roost/explorer/${this.id}` }

  /**
   * A view is open (it says so every few seconds and when it expands a level): push deltas for
   * what it shows until it falls silent. Without a state it is sent every change.
   */
  viewOpened (viewId = '', state?: ViewState): void {
    if (!this.views.has(viewId) && this.views.size >= MAX_VIEWS) this.views.delete(this.views.keys().next().value as string)
    this.views.set(viewId, {
      shown: state === undefined ? new Set([ALL]) : new Set(state.shown),
      selected: state?.selected,
      aliveUntil: this.clock() + VIEW_ALIVE_MS
    })
    this.index.trackChanges = true
    // A remote broker has no observer: the client engine subscribes to '#' once someone looks.
    if (this.stopFeed === undefined && this.broker === undefined && this.index.limits.maxTopics > 0) {
      this.stopFeed = this.transport.subscribe('#', 0, (message: TransportMessage) => { this.record(message) })
    }
    this.timer ??= setInterval(() => { this.flush() }, PUSH_EVERY_MS)
  }

  /** Sends what changed since the last batch; stops pushing (and collecting) once no view is open. */
  flush (): void {
    const now = this.clock()
    const shown = new Set<string>()
    for (const [id, view] of this.views) {
      if (now > view.aliveUntil) {
        this.views.delete(id)
        continue
      }
      for (const path of view.shown) shown.add(path)
      if (view.selected !== undefined) shown.add(SELECTED + view.selected)
    }
    if (this.views.size === 0) {
      this.index.trackChanges = false
      this.index.takeChanged()
      this.stopTimer()
      return
    }
    const changed = this.index.takeChanged()
    if (changed.length === 0) return
    const all = shown.has(ALL)
    const topics: TopicDelta[] = []
    const levels: Array<[string, number, number]> = []
    const seen = new Set<LevelNode>()
    let overflow = false
    for (const entry of changed) {
      // Only rows on some view's screen (their level is expanded) and selected topics travel.
      if (!overflow && (all || shown.has(parentKey(entry.topic)) || shown.has(SELECTED + entry.topic))) {
        overflow = topics.length === MAX_TOPICS_PER_BATCH
        if (!overflow) topics.push({ topic: entry.topic, ...summary(entry, now), isNew: entry.messagesPushed === 0 })
      }
      if (!overflow) levelsAbove(entry, seen, levels, all ? undefined : shown)
      entry.messagesPushed = entry.messages
    }
    if (overflow) {
      topics.length = 0
      levels.length = 0
    }
    if (topics.length === 0 && levels.length === 0 && !overflow) return
    const batch: DeltaBatch = { at: now, topics, levels, overflow, topicCount: this.index.topicCount, topicsNotIndexed: this.index.topicsNotIndexed }
    this.push(this.commsTopic, batch)
  }

  stop (): void {
    this.stopFeed?.()
    this.stopFeed = undefined
    this.stopTimer()
  }

  private stopTimer (): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }
}
