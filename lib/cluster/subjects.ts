// MQTT topic names and filters as NATS subjects, mapped exactly as nats-server's own MQTT listener
// maps them (server/mqtt.go, mqttToNATSSubjectConversion and natsSubjectToMQTTTopic), so clients of
// a Roost node and MQTT clients of nats-server itself see each other's messages:
//   `/` between levels      -> `.`                 a/b      -> a.b
//   an empty first level    -> `/.`                /a       -> /.a
//   an empty level after one or at the end -> `./` a//b     -> a./.b    a/ -> a./
//   `.` inside a level      -> `//`                a.b/c    -> a//b.c   (nats-server 2.10 and later;
//                                                  2.9 refuses such topics, so its clients never meet them)
//   `+` -> `*`, `#` -> `>`  (filters only)
// A leading `$` stays as it is, as nats-server leaves it. Whitespace and DEL cannot travel in a NATS
// subject, nor can a level that is a NATS wildcard (`*`, `>`) in a topic name: such a topic has no
// subject (undefined) and stays on its node.
// NATS's `>` needs one token at least, so `a/#` also takes a subscription to `a` [MQTT-4.7.1-2].

const SEPARATOR = 0x2f // '/'
const DOT = 0x2e // '.'
const PLUS = 0x2b // '+'
const HASH = 0x23 // '#'
const NATS_WILDCARD_LEVEL = /(^|\/)[*>](\/|$)/
/** What only the careful conversion handles: a '.', whitespace, DEL, an empty level. */
const NEEDS_ESCAPING = /[. \t\n\r\f\x7f]|\/\/|^\/|\/$/

/** The NATS subject an MQTT topic name is published on; undefined when it holds a character a subject cannot. */
export function topicToSubject (topic: string): string | undefined {
  // A level that is all '*' or '>' would publish on a NATS wildcard: kept on its node.
  if ((topic.includes('*') || topic.includes('>')) && NATS_WILDCARD_LEVEL.test(topic)) return undefined
  // The common topic (no '.', no empty level, nothing a subject cannot hold) only swaps separators.
  if (!NEEDS_ESCAPING.test(topic)) return topic.replaceAll('/', '.')
  return convert(topic, false)
}

/**
 * The NATS subjects to subscribe to for an MQTT filter (no `$share/` prefix): one, or two for a
 * filter ending in `/#`, which also matches its parent level [MQTT-4.7.1-2] where NATS's `>` does
 * not. Empty when the filter holds a character a subject cannot.
 */
export function filterToSubjects (filter: string): string[] {
  const subject = convert(filter, true)
  if (subject === undefined) return []
  // As nats-server does (mqttNeedSubForLevelUp): 'a.>' also needs 'a'.
  if (subject.length >= 3 && subject.endsWith('.>')) return [subject, subject.slice(0, -2)]
  return [subject]
}

/** The MQTT topic name of a NATS subject: the reverse of topicToSubject. */
export function subjectToTopic (subject: string): string {
  // Without a '/' there is no escape to undo, only separators.
  if (!subject.includes('/')) return subject.replaceAll('.', '/')
  let topic = ''
  const end = subject.length - 1
  for (let i = 0; i < subject.length; i++) {
    const c = subject.charCodeAt(i)
    if (c === SEPARATOR) {
      if (i < end) {
        const next = subject.charCodeAt(i + 1)
        // '/.' and './' stand for an empty level ('.' then '/' is read below); '//' for a '.'.
        if (next === DOT) { topic += '/'; i++ } else if (next === SEPARATOR) { topic += '.'; i++ }
      }
    } else if (c === DOT) {
      topic += '/'
    } else {
      topic += subject[i]
    }
  }
  return topic
}

function convert (mqtt: string, wildcardsAllowed: boolean): string | undefined {
  let out = ''
  let changed = false
  const end = mqtt.length - 1
  for (let i = 0; i < mqtt.length; i++) {
    const c = mqtt.charCodeAt(i)
    if (c === SEPARATOR) {
      changed = true
      if (i === 0 || out.charCodeAt(out.length - 1) === DOT) out += '/.'
      else if (i === end || mqtt.charCodeAt(i + 1) === SEPARATOR) out += './'
      else out += '.'
    } else if (c === DOT) {
      changed = true
      out += '//'
    } else if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c || c === 0x7f) {
      return undefined
    } else if (wildcardsAllowed && (c === PLUS || c === HASH)) {
      changed = true
      out += c === PLUS ? '*' : '>'
    } else {
      out += mqtt[i]
    }
  }
  // A subject cannot end in a separator: a trailing empty level closes with '/'.
  if (changed && out.charCodeAt(out.length - 1) === DOT) out += '/'
  return changed ? out : mqtt
}
