// Which NATS subscriptions this node needs, counted: the first local subscription to a filter opens
// the NATS subscriptions for its subjects, the last one to go closes them. Several filters may share
// a subject ('a/#' and 'a' both need 'a'), so the count is per NATS subscription, not per filter.
//
// A shared subscription `$share/<group>/<filter>` becomes a NATS queue subscription: every node
// with members of it joins one queue named after group and filter, and NATS gives each message to
// one of them, once in the whole cluster (MQTT 5.0, 4.8.2). Each (group, filter) pair is its own
// queue, as each is its own shared subscription: '$share/g/a/#' and '$share/g/a' both get 'a'.
import { createHash } from 'node:crypto'
import { parseSharedFilter } from '../topics/shared'
import { filterToSubjects } from './subjects'

/** One NATS subscription the node holds. */
export interface SubjectEntry {
  readonly subject: string
  /** For a shared subscription: its share name, its filter without `$share/<group>/`, and the NATS queue. */
  readonly share: { readonly group: string, readonly levelsFilter: string, readonly queue: string } | undefined
}

/** What the table opens and closes: the NATS side of the link. */
export interface SubjectSink {
  open (entry: SubjectEntry): void
  close (entry: SubjectEntry): void
}

interface Counted {
  entry: SubjectEntry
  count: number
}

export class SubjectInterest {
  private readonly counts = new Map<string, Counted>()

  constructor (private readonly sink: SubjectSink) {}

  /** Every NATS subscription with at least one local subscriber behind it. */
  * entries (): IterableIterator<SubjectEntry> {
    for (const counted of this.counts.values()) yield counted.entry
  }

  /** A subscriber took `filter` (as sent, `$share/<group>/` included). */
  filterAdded (filter: string): void {
    for (const entry of entriesOf(filter)) {
      const key = keyOf(entry)
      const counted = this.counts.get(key)
      if (counted !== undefined) {
        counted.count++
        continue
      }
      this.counts.set(key, { entry, count: 1 })
      this.sink.open(entry)
    }
  }

  /** A subscriber dropped `filter`. */
  filterRemoved (filter: string): void {
    for (const entry of entriesOf(filter)) {
      const key = keyOf(entry)
      const counted = this.counts.get(key)
      if (counted === undefined) continue
      if (--counted.count > 0) continue
      this.counts.delete(key)
      this.sink.close(counted.entry)
    }
  }
}

/** The queue of a shared subscription: the same on every node, and a valid NATS queue name whatever the share name holds. */
export function queueName (group: string, levelsFilter: string): string {
  return `share_${createHash('sha256').update(group).update('\0').update(levelsFilter).digest('hex').slice(0, 24)}`
}

/** A subject holds no space, so subject and queue joined by one cannot collide. */
function keyOf (entry: SubjectEntry): string {
  return entry.share === undefined ? entry.subject : `${entry.subject} ${entry.share.queue}`
}

/** The NATS subscriptions a filter needs from other nodes: none for `$SYS`, which stays per node. */
function entriesOf (filter: string): SubjectEntry[] {
  if (filter.startsWith('$SYS')) return []
  const shared = parseSharedFilter(filter)
  if (typeof shared !== 'object') return filterToSubjects(filter).map((subject) => ({ subject, share: undefined }))
  if (shared.filter.startsWith('$SYS')) return []
  const share = { group: shared.group, levelsFilter: shared.filter, queue: queueName(shared.group, shared.filter) }
  return filterToSubjects(shared.filter).map((subject) => ({ subject, share }))
}
