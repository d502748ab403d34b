// Keys in the cluster's JetStream key-value buckets. A KV key is a NATS subject made only of
// `[-/=._A-Za-z0-9]` (nats.js validateKey), so:
// - a retained message's key is its topic's subject (subjects.ts, the mapping every message travels
//   on), with each character a key cannot hold written `=XX` (its UTF-8 bytes in hex, '=' itself
//   included): '$' + 'a/b' -> '=24a.b'. A topic without a subject (whitespace, a level that is a
//   NATS wildcard) has no key: its retained message stays on its node, as its messages do.
// - a client id is one key token: '.' and '/' are escaped too, and an id too long for a readable
//   key becomes '=h' and its SHA-256 ('=h' cannot come out of the escaping, whose hex is upper case).
import { createHash } from 'node:crypto'
import { topicToSubject } from './subjects'

/** Longest escaped client id kept readable; longer ones are hashed. */
const MAX_READABLE_KEY = 200
const SUBJECT_KEEPS = /[-/.\w]/
const TOKEN_KEEPS = /[-\w]/

export function retainedKey (topic: string): string | undefined {
  const subject = topicToSubject(topic)
  return subject === undefined ? undefined : escaped(subject, SUBJECT_KEEPS)
}

export function clientKey (clientId: string): string {
  const key = escaped(clientId, TOKEN_KEEPS)
  if (key.length > 0 && key.length <= MAX_READABLE_KEY) return key
  return `=h${createHash('sha256').update(clientId).digest('hex')}`
}

/** The key of a will: the node that holds it, then its client, so a survivor lists a dead node's wills by `<node>.>`. */
export function willKey (nodeId: string, clientId: string): string {
  return `${nodeId}.${clientKey(clientId)}`
}

function escaped (text: string, keeps: RegExp): string {
  let out = ''
  for (const char of text) {
    if (keeps.test(char)) {
      out += char
      continue
    }
    for (const byte of Buffer.from(char, 'utf8')) out += `=${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}
