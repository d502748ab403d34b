// Which NATS subjects this node needs, counted: the first local subscription to a filter opens the
// NATS subscriptions for its subjects, the last one to go closes them. Several filters may share a
// subject ('a/#' and 'a' both need 'a'), so the count is per subject, not per filter.
import { parseSharedFilter } from '../topics/shared'
import { filterToSubjects } from './subjects'

/** What the table opens and closes: the NATS side of the link. */
export interface SubjectSink {
  open (subject: string): void
  close (subject: string): void
}

export class SubjectInterest {
  private readonly counts = new Map<string, number>()

  constructor (private readonly sink: SubjectSink) {}

  /** Subjects with at least one local subscription. */
  get subjects (): IterableIterator<string> { return this.counts.keys() }

  /** A subscriber took `filter` (as sent, `$share/<group>/` included). */
  filterAdded (filter: string): void {
    for (const subject of subjectsOf(filter)) {
      const count = this.counts.get(subject) ?? 0
      this.counts.set(subject, count + 1)
      if (count === 0) this.sink.open(subject)
    }
  }

  /** A subscriber dropped `filter`. */
  filterRemoved (filter: string): void {
    for (const subject of subjectsOf(filter)) {
      const count = this.counts.get(subject)
      if (count === undefined) continue
      if (count > 1) {
        this.counts.set(subject, count - 1)
        continue
      }
      this.counts.delete(subject)
      this.sink.close(subject)
    }
  }
}

/**
 * The subjects a filter needs from other nodes: none for `$SYS`, which stays per node, nor for a
 * shared subscription, whose one-delivery-per-cluster rule ordinary subjects cannot keep.
 */
function subjectsOf (filter: string): string[] {
  if (filter.startsWith('$SYS') || parseSharedFilter(filter) !== undefined) return []
  return filterToSubjects(filter)
}
