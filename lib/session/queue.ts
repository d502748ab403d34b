// A FIFO with O(1) push and shift, for messages waiting behind a client's inflight window.

export class Fifo<T> {
  private items: Array<T | undefined> = []
  private head = 0

  get length (): number { return this.items.length - this.head }

  push (item: T): void { this.items.push(item) }

  peek (): T | undefined { return this.items[this.head] }

  shift (): T | undefined {
    if (this.head >= this.items.length) return undefined
    const item = this.items[this.head]
    this.items[this.head++] = undefined
    // Reclaim the consumed prefix once it dominates, so a long-lived queue does not grow forever.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return item
  }

  /** Takes out every item `leaves` is true for, keeping the order of the rest; returns those taken. */
  takeWhere (leaves: (item: T) => boolean): T[] {
    const taken: T[] = []
    const kept: T[] = []
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i] as T
      if (leaves(item)) taken.push(item)
      else kept.push(item)
    }
    if (taken.length > 0) {
      this.items = kept
      this.head = 0
    }
    return taken
  }

  clear (): void {
    this.items = []
    this.head = 0
  }

  * [Symbol.iterator] (): Iterator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i] as T
  }
}
