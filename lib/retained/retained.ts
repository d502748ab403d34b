// Retained messages: one per topic [MQTT-3.3.1-5], kept in a trie of topic levels so that a
// wildcard subscription walks only the branches its filter can reach.
import type { Message } from '../types'

class RetainedNode {
  children: Map<string, RetainedNode> | undefined
  message: Message | undefined
}

export interface RetainedStore {
  readonly size: number
  /** Bytes of payload held. */
  readonly bytes: number
  /** Stores a retained message, or removes the topic's one when the payload is empty [MQTT-3.3.1-10]. */
  set (message: Message): void
  get (topic: string): Message | undefined
  /** Calls `visit` for every retained message whose topic matches `filter`. */
  match (filter: string, visit: (message: Message) => void): void
  clear (): void
}

export class MemoryRetainedStore implements RetainedStore {
  private root = new RetainedNode()
  private count = 0
  private payloadBytes = 0

  get size (): number { return this.count }
  get bytes (): number { return this.payloadBytes }

  set (message: Message): void {
    this.replace(message)
  }

  /** set(), returning the message the topic held before: one walk down the trie, not two. */
  replace (message: Message): Message | undefined {
    const levels = message.topic.split('/')
    if (message.payload.length === 0) return this.remove(levels)
    let node = this.root
    for (let i = 0; i < levels.length; i++) {
      const level = levels[i] as string
      const children = node.children ??= new Map()
      let child = children.get(level)
      if (child === undefined) {
        child = new RetainedNode()
        children.set(level, child)
      }
      node = child
    }
    const previous = node.message
    if (previous === undefined) this.count++
    else this.payloadBytes -= previous.payload.length
    node.message = message
    this.payloadBytes += message.payload.length
    return previous
  }

  get (topic: string): Message | undefined {
    let node: RetainedNode | undefined = this.root
    for (const level of topic.split('/')) {
      node = node.children?.get(level)
      if (node === undefined) return undefined
    }
    return node.message
  }

  match (filter: string, visit: (message: Message) => void): void {
    matchFrom(this.root, filter.split('/'), 0, visit)
  }

  /**
   * Every retained message, one at a time, '$' topics included, reading the trie as it is when each
   * is reached: a walk spread over many ticks (a snapshot written in the background) sees what
   * changed meanwhile where it had not been yet, and never a message removed before it got there.
   */
  * walk (): Generator<Message, void, undefined> {
    const root = this.root
    if (root.message !== undefined) yield root.message
    if (root.children === undefined) return
    const stack: Array<Iterator<RetainedNode>> = [root.children.values()]
    while (stack.length > 0) {
      const next = (stack[stack.length - 1] as Iterator<RetainedNode>).next()
      if (next.done === true) {
        stack.pop()
        continue
      }
      const node = next.value
      if (node.message !== undefined) yield node.message
      if (node.children !== undefined) stack.push(node.children.values())
    }
  }

  clear (): void {
    this.root = new RetainedNode()
    this.count = 0
    this.payloadBytes = 0
  }

  private remove (levels: string[]): Message | undefined {
    const path: RetainedNode[] = [this.root]
    let node: RetainedNode | undefined = this.root
    for (const level of levels) {
      node = node.children?.get(level)
      if (node === undefined) return undefined
      path.push(node)
    }
    const previous = node.message
    if (previous === undefined) return undefined
    this.payloadBytes -= previous.payload.length
    node.message = undefined
    this.count--
    for (let i = levels.length; i > 0; i--) {
      const child = path[i] as RetainedNode
      if (child.message !== undefined || (child.children !== undefined && child.children.size > 0)) break
      path[i - 1]?.children?.delete(levels[i - 1] as string)
    }
    return previous
  }
}

function matchFrom (node: RetainedNode, levels: string[], index: number, visit: (message: Message) => void): void {
  if (index === levels.length) {
    if (node.message !== undefined) visit(node.message)
    return
  }
  const level = levels[index] as string
  const children = node.children
  if (level === '#') {
    // [MQTT-4.7.1-2] '#' matches the parent level too: 'a/#' matches 'a'
    if (index > 0 && node.message !== undefined) visit(node.message)
    if (children !== undefined) for (const [name, child] of children) {
      // [MQTT-4.7.2-1] no leading wildcard reaches '$' topics
      if (index === 0 && name.charCodeAt(0) === 0x24) continue
      visitAll(child, visit)
    }
    return
  }
  if (children === undefined) return
  if (level === '+') {
    for (const [name, child] of children) {
      if (index === 0 && name.charCodeAt(0) === 0x24) continue
      matchFrom(child, levels, index + 1, visit)
    }
    return
  }
  const child = children.get(level)
  if (child !== undefined) matchFrom(child, levels, index + 1, visit)
}

function visitAll (node: RetainedNode, visit: (message: Message) => void): void {
  if (node.message !== undefined) visit(node.message)
  if (node.children !== undefined) for (const child of node.children.values()) visitAll(child, visit)
}
