// The topic explorer's index of one broker: a tree of topic levels with the number of topics and
// messages below each, and for each topic its last message (payload capped), a message rate and a
// short history. Memory is bounded by a cap on topics and on payload bytes per topic and in total.
import type { Message, PublishProperties } from '../../lib'
import { type Clock, MessageRate } from './rate'

/** What the index reads of a message: a routed Message, or one a remote transport received. */
export type IndexedMessage = Readonly<Pick<Message, 'topic' | 'payload' | 'qos' | 'retain' | 'properties' | 'userPropertyPairs'>>

/** The index's limits (the broker node's explorer settings). */
export interface TopicIndexLimits {
  /** Topics indexed at most; messages on further new topics are counted in `topicsNotIndexed` only. */
  maxTopics: number
  /** Bytes of one topic's last payload kept; the rest is cut (the full size is still shown). */
  maxPayloadBytesPerTopic: number
  /** Bytes of last payloads kept over all topics; past it the topics updated longest ago lose theirs (second-chance order). */
  maxPayloadBytesTotal: number
  /** Last values kept per topic for its history and chart (recorded while a view is open). */
  historyLength: number
}

export const INDEX_DEFAULTS: Readonly<TopicIndexLimits> = Object.freeze({
  maxTopics: 200_000,
  maxPayloadBytesPerTopic: 16 * 1024,
  maxPayloadBytesTotal: 64 * 1024 * 1024,
  historyLength: 20
})

/** Characters of a payload kept in a history entry: enough for a number or a short state. */
const HISTORY_TEXT_CHARS = 64

/** One past value of a topic. */
export interface HistoryEntry { at: number, text: string }

/** The last `length` values of a topic: two parallel arrays written round, `next` the oldest once full. */
export class HistoryRing {
  readonly at: number[] = []
  readonly text: string[] = []
  next = 0

  constructor (readonly length: number) {}

  add (at: number, text: string): void {
    if (this.at.length < this.length) {
      this.at.push(at)
      this.text.push(text)
      return
    }
    this.at[this.next] = at
    this.text[this.next] = text
    this.next = (this.next + 1) % this.length
  }

  entries (): HistoryEntry[] {
    const entries: HistoryEntry[] = []
    for (let i = 0; i < this.at.length; i++) {
      const slot = (this.next + i) % this.at.length
      entries.push({ at: this.at[slot] as number, text: this.text[slot] as string })
    }
    return entries
  }
}

/** A topic that has had a message: its last one as far as the caps allow. */
export class TopicEntry {
  /** The first maxPayloadBytesPerTopic bytes of the last payload, a copy; undefined once evicted. */
  payload: Buffer | undefined = undefined
  /** The last payload's full size. */
  payloadBytes = 0
  qos = 0
  retain = false
  properties: PublishProperties | undefined = undefined
  userPropertyPairs: Array<[string, string]> | undefined = undefined
  /** Updated since the eviction last passed it: spared once (second chance), so an update needs no reordering. */
  touched = false
  /** When the last message arrived (ms since epoch). */
  lastMs = 0
  messages = 0
  /** `messages` when the last delta batch carried this topic (or when no view was open); 0: new since that batch. */
  messagesPushed = 0
  readonly rate = new MessageRate()
  /** The last values, oldest first once read with historyEntries(); a ring, so a message allocates no entry. */
  history: HistoryRing | undefined = undefined

  constructor (readonly topic: string, readonly level: LevelNode) {}
}

/** One level of the tree; `entry` is set when the path up to here is itself a topic. */
export class LevelNode {
  children: Map<string, LevelNode> | undefined = undefined
  entry: TopicEntry | undefined = undefined
  /** Topics at and below this level. */
  topics = 0
  /** Messages at and below this level since the index started. */
  messages = 0

  constructor (readonly name: string, readonly parent: LevelNode | undefined) {}
}

export class TopicIndex {
  readonly root = new LevelNode('', undefined)
  /** Messages whose topic was new while the index held maxTopics topics. */
  topicsNotIndexed = 0
  /** Bytes of payload kept now. */
  payloadBytesKept = 0
  /** Topics that changed since the last takeChanged(), while `trackChanges` is on (a view is open). */
  private changed = new Set<TopicEntry>()
  /** Topics holding a payload, in the order they got it (a Set keeps insertion order); eviction spares the touched. */
  private readonly holding = new Set<TopicEntry>()
  /** Every indexed topic by name: one lookup for a known topic, no split per message. */
  private readonly byTopic = new Map<string, TopicEntry>()
  trackChanges = false

  constructor (readonly limits: TopicIndexLimits = INDEX_DEFAULTS, private readonly clock: Clock = Date.now) {}

  get topicCount (): number { return this.root.topics }

  /** Takes one routed message in. An empty retained message clears the topic: it leaves the index. */
  record (message: IndexedMessage): void {
    if (message.retain && message.payload.length === 0) {
      this.remove(message.topic)
      return
    }
    const entry = this.entryFor(message.topic)
    if (entry === undefined) {
      this.topicsNotIndexed++
      return
    }
    const now = this.clock()
    entry.messages++
    for (let level: LevelNode | undefined = entry.level; level !== undefined; level = level.parent) level.messages++
    entry.qos = message.qos
    entry.retain = message.retain
    entry.properties = message.properties
    entry.userPropertyPairs = message.userPropertyPairs
    entry.lastMs = now
    entry.rate.count(now)
    this.keepPayload(entry, message.payload)
    // History is kept while a view is open (and then stays): a string per message is the index's
    // largest cost, not worth paying for an editor nobody has open.
    if (this.trackChanges) {
      this.addHistory(entry, message.payload, now)
      this.changed.add(entry)
    } else {
      entry.messagesPushed = entry.messages
    }
  }

  /** The entry of a topic, or undefined when it is not indexed. */
  find (topic: string): TopicEntry | undefined { return this.byTopic.get(topic) }

  /**
   * The level at a path, or undefined; the root when `path` is undefined. '' is not the root but
   * the empty first level of topics like '/a' [MQTT-4.7.1-1]: levels may be empty.
   */
  levelAt (path: string | undefined): LevelNode | undefined {
    if (path === undefined) return this.root
    let level: LevelNode | undefined = this.root
    for (const name of path.split('/')) {
      level = level.children?.get(name)
      if (level === undefined) return undefined
    }
    return level
  }

  /** The topics changed since the last call (only collected while trackChanges is on). */
  takeChanged (): TopicEntry[] {
    const changed = [...this.changed]
    this.changed = new Set()
    return changed
  }

  /** Removes a topic (a cleared retained message); empty levels above it go too. */
  remove (topic: string): boolean {
    const level = this.levelAt(topic)
    const entry = level?.entry
    if (level === undefined || entry === undefined) return false
    this.dropPayload(entry)
    this.changed.delete(entry)
    this.byTopic.delete(topic)
    level.entry = undefined
    for (let up: LevelNode | undefined = level; up !== undefined; up = up.parent) {
      up.topics--
      up.messages -= entry.messages
    }
    let empty: LevelNode | undefined = level
    while (empty?.parent !== undefined && empty.topics === 0) {
      empty.parent.children?.delete(empty.name)
      empty = empty.parent
    }
    return true
  }

  private entryFor (topic: string): TopicEntry | undefined {
    const known = this.byTopic.get(topic)
    if (known !== undefined) return known
    let level = this.root
    const names = topic.split('/')
    // Walk first without creating anything, so a topic past the cap leaves no empty levels behind.
    let depth = 0
    for (; depth < names.length; depth++) {
      const next = level.children?.get(names[depth] as string)
      if (next === undefined) break
      level = next
    }
    if (this.root.topics >= this.limits.maxTopics) return undefined
    for (; depth < names.length; depth++) {
      const name = names[depth] as string
      const child = new LevelNode(name, level)
      level.children ??= new Map()
      level.children.set(name, child)
      level = child
    }
    const entry = new TopicEntry(topic, level)
    level.entry = entry
    this.byTopic.set(topic, entry)
    for (let up: LevelNode | undefined = level; up !== undefined; up = up.parent) up.topics++
    return entry
  }

  private keepPayload (entry: TopicEntry, payload: Buffer): void {
    entry.payloadBytes = payload.length
    const kept = Math.min(payload.length, this.limits.maxPayloadBytesPerTopic)
    const held = entry.payload
    // A reading of the same size as the last (the usual sensor) is copied over it: no allocation.
    if (held !== undefined && held.length === kept) {
      payload.copy(held, 0, 0, kept)
      entry.touched = true
      return
    }
    this.dropPayload(entry)
    if (kept > this.limits.maxPayloadBytesTotal) return
    while (this.payloadBytesKept + kept > this.limits.maxPayloadBytesTotal) {
      const oldest = this.holding.values().next().value
      if (oldest === undefined) break
      if (oldest.touched) {
        // Updated since it got its payload: goes to the back once, the next untouched one is dropped.
        oldest.touched = false
        this.holding.delete(oldest)
        this.holding.add(oldest)
        continue
      }
      this.dropPayload(oldest)
    }
    // A copy: the message's Buffer may share a socket's read buffer (broker.observeMessages).
    entry.payload = Buffer.from(payload.subarray(0, kept))
    entry.touched = false
    this.payloadBytesKept += kept
    this.holding.add(entry)
  }

  private dropPayload (entry: TopicEntry): void {
    if (entry.payload === undefined) return
    this.payloadBytesKept -= entry.payload.length
    entry.payload = undefined
    this.holding.delete(entry)
  }

  private addHistory (entry: TopicEntry, payload: Buffer, now: number): void {
    if (this.limits.historyLength <= 0) return
    entry.history ??= new HistoryRing(this.limits.historyLength)
    entry.history.add(now, payload.toString('utf8', 0, Math.min(payload.length, HISTORY_TEXT_CHARS)))
  }
}
