// How `roost sub` and `roost rr` print a message, byte for byte as mosquitto_sub does: the payload
// alone, `topic payload` with -v, or a -F format of %-codes (with mosquitto_sub's flags, widths
// and precisions, quirks included), @-time codes and \-escapes. A format is checked and compiled
// once; each message then runs the compiled steps.
import { atCode, isoTime, jsonTime, type Moment, now, unixTime } from './clock'
import { fromParsed, type JsonObject, type JsonValue, printJson } from './json'
import type { PublishProperties, QoS } from '../types'
import { objectToPairs } from '../codec/properties'

/** What the printer needs of a received message. */
export interface PrintedMessage {
  topic: string
  payload: Buffer
  qos: QoS
  retain: boolean
  /** The packet identifier it came with; 0 (or unset) for QoS 0. */
  messageId?: number
  properties?: PublishProperties
}

export interface PrintOptions {
  /** -F: the format; undefined prints the payload (with -v, topic and payload). */
  format?: string
  verbose: boolean
  /** Not -N: a newline after each message. */
  eol: boolean
  /** --pretty: indented JSON for %j and %J. */
  pretty: boolean
}

/** A -F format that mosquitto_sub would refuse; the message is mosquitto_sub's. */
export class FormatError extends Error {}

/** One message printed as bytes, or an error line for stderr (a %J payload that is not JSON). */
export interface Printed { bytes: Buffer, error?: string }

interface Spec { align: boolean, zeroPad: boolean, width: number, precision: number }
type Step = (message: PrintedMessage, context: RenderContext) => void

interface RenderContext {
  out: Buffer[]
  moment: Moment | undefined
  error: string | undefined
  pretty: boolean
}

const KNOWN_CODES = new Set('%ACDEFIlmPpqRSrtjJUxX'.split(''))
const ESCAPES: Record<string, string> = { '\\': '\\', 0: '\0', a: '\x07', e: '\x1b', n: '\n', r: '\r', t: '\t', v: '\x0b' }

function isDigit (char: string | undefined): boolean {
  return char !== undefined && char >= '0' && char <= '9'
}

/** mosquitto_sub's check of a -F format: incomplete or unknown specifiers are errors. */
export function checkFormat (format: string): void {
  const incomplete = (): never => { throw new FormatError('Error: Incomplete format specifier.') }
  const last = format.length - 1
  for (let i = 0; i < format.length; i++) {
    const char = format[i]
    if (char === '%') {
      if (i === last) incomplete()
      if (format[i + 1] === '0' || format[i + 1] === '-') { i++; if (i === last) incomplete() }
      while (isDigit(format[i + 1])) { i++; if (i === last) incomplete() }
      if (format[i + 1] === '.') {
        i++
        if (i === last) incomplete()
        while (isDigit(format[i + 1])) { i++; if (i === last) incomplete() }
      }
      const code = format[i + 1] ?? ''
      if (!KNOWN_CODES.has(code)) throw new FormatError(`Error: Invalid format specifier '${code}'.`)
      i++
    } else if (char === '@') {
      if (i === last) incomplete()
      i++
    } else if (char === '\\') {
      if (i === last) throw new FormatError('Error: Incomplete escape specifier.')
      const code = format[i + 1] ?? ''
      if (ESCAPES[code] === undefined) throw new FormatError(`Error: Invalid escape specifier '${code}'.`)
      i++
    }
  }
}

function momentOf (context: RenderContext): Moment {
  context.moment ??= now()
  return context.moment
}

function text (context: RenderContext, value: string): void {
  context.out.push(Buffer.from(value, 'utf8'))
}

/** printf("%d") with mosquitto_sub's flags: left-aligned, zero-padded or space-padded. */
function printInt (context: RenderContext, value: number, spec: Spec): void {
  const digits = String(value)
  if (spec.width === 0) text(context, digits)
  else if (spec.align) text(context, digits.padEnd(spec.width))
  else if (spec.zeroPad) text(context, value < 0 ? `-${String(-value).padStart(spec.width - 1, '0')}` : digits.padStart(spec.width, '0'))
  else text(context, digits.padStart(spec.width))
}

/** printf("%*.*s"): width and precision count bytes, as C does. */
function printString (context: RenderContext, value: string, spec: Spec): void {
  let bytes = Buffer.from(value, 'utf8')
  if (spec.precision >= 0 && bytes.length > spec.precision) bytes = bytes.subarray(0, spec.precision)
  const padding = Buffer.alloc(Math.max(0, spec.width - bytes.length), ' ')
  context.out.push(spec.align ? bytes : padding, spec.align ? padding : bytes)
}

/** A property that is absent prints as `width` fill characters. */
function printBlank (context: RenderContext, fill: string, width: number): void {
  if (width > 0) text(context, fill.repeat(width))
}

/**
 * The payload raw or in hex, as mosquitto_sub's write_payload: a width cuts the payload to that
 * many bytes (in hex, to half of them), the fill goes before it, or spaces after with '-'; with
 * '-' and no width the payload is followed by as many spaces as it has bytes.
 */
function printPayload (context: RenderContext, payload: Buffer, hex: 0 | 1 | 2, spec: Spec): void {
  let length = payload.length
  let padLength: number
  if (spec.width > 0) {
    if (length > spec.width) length = spec.width
    if (hex > 0) {
      length = Math.floor(length / 2)
      padLength = spec.width - length * 2
    } else {
      padLength = spec.width - length
    }
  } else {
    padLength = -length
  }
  if (!spec.align && padLength > 0) text(context, (spec.zeroPad ? '0' : ' ').repeat(padLength))
  const shown = payload.subarray(0, length)
  if (hex === 0) context.out.push(shown)
  else {
    const digits = shown.toString('hex')
    text(context, hex === 2 ? digits.toUpperCase() : digits)
  }
  // printf("%*s", padlen, ""): a negative width pads on the right by its size.
  if (spec.align) text(context, ' '.repeat(Math.abs(padLength)))
}

function firstSubscriptionId (properties: PublishProperties | undefined): number | undefined {
  const ids = properties?.subscriptionIdentifier
  return Array.isArray(ids) ? ids[0] : ids
}

/** MQTT 5 properties as mosquitto_sub's JSON names them. */
function jsonProperties (properties: PublishProperties): JsonObject {
  const entries: Array<[string, JsonValue]> = []
  const ids = properties.subscriptionIdentifier
  for (const id of Array.isArray(ids) ? ids : ids === undefined ? [] : [ids]) entries.push(['subscription-identifier', id])
  if (properties.payloadFormatIndicator !== undefined) entries.push(['payload-format-indicator', properties.payloadFormatIndicator ? 1 : 0])
  if (properties.contentType !== undefined) entries.push(['content-type', properties.contentType])
  if (properties.responseTopic !== undefined) entries.push(['response-topic', properties.responseTopic])
  if (properties.correlationData !== undefined) entries.push(['correlation-data', properties.correlationData])
  if (properties.userProperties !== undefined) entries.push(['user-properties', { entries: objectToPairs(properties.userProperties) }])
  if (properties.messageExpiryInterval !== undefined) entries.push(['message-expiry-interval', properties.messageExpiryInterval])
  return { entries }
}

/** %j (payload as a string) and %J (payload as JSON): undefined when %J's payload is not JSON. */
function jsonMessage (message: PrintedMessage, moment: Moment, parsePayload: boolean): JsonObject | undefined {
  const entries: Array<[string, JsonValue]> = [
    ['tst', jsonTime(moment)], ['topic', message.topic], ['qos', message.qos], ['retain', message.retain ? 1 : 0], ['payloadlen', message.payload.length]
  ]
  if (message.qos > 0) entries.push(['mid', message.messageId ?? 0])
  if (message.properties !== undefined) entries.push(['properties', jsonProperties(message.properties)])
  let payload: JsonValue = message.payload.length === 0 ? null : message.payload
  if (parsePayload && message.payload.length > 0) {
    try {
      payload = fromParsed(JSON.parse(message.payload.toString('utf8')))
    } catch {
      return undefined
    }
  }
  entries.push(['payload', payload])
  return { entries }
}

function percentStep (code: string, spec: Spec): Step {
  switch (code) {
    case '%': return (_m, c) => text(c, '%')
    case 'A': return (_m, c) => printBlank(c, spec.zeroPad ? '0' : ' ', spec.width) // aliases are resolved before printing
    case 'C': return (m, c) => {
      const value = m.properties?.contentType
      if (value !== undefined) printString(c, value, spec)
      else printBlank(c, ' ', spec.width)
    }
    case 'D': return (m, c) => { if (m.properties?.correlationData !== undefined) c.out.push(m.properties.correlationData) }
    case 'E': return (m, c) => {
      const value = m.properties?.messageExpiryInterval
      if (value !== undefined) printInt(c, value | 0, spec)
      else printBlank(c, spec.zeroPad ? '0' : ' ', spec.width)
    }
    case 'F': return (m, c) => {
      const value = m.properties?.payloadFormatIndicator
      if (value !== undefined) printInt(c, value ? 1 : 0, spec)
      else printBlank(c, spec.zeroPad ? '0' : ' ', spec.width)
    }
    case 'I': return (_m, c) => printString(c, isoTime(momentOf(c)), spec)
    case 'j': case 'J': return (m, c) => {
      const json = jsonMessage(m, momentOf(c), code === 'J')
      if (json === undefined) c.error = `Error: Message payload is not valid JSON on topic ${m.topic}.`
      else c.out.push(printJson(json, c.pretty))
    }
    case 'l': return (m, c) => printInt(c, m.payload.length, spec)
    case 'm': return (m, c) => printInt(c, m.messageId ?? 0, spec)
    case 'P': return (m, c) => text(c, objectToPairs(m.properties?.userProperties ?? {}).map(([key, value]) => `${key}:${value}`).join(' '))
    case 'p': return (m, c) => printPayload(c, m.payload, 0, spec)
    case 'q': return (m, c) => text(c, String(m.qos))
    case 'R': return (m, c) => { if (m.properties?.responseTopic !== undefined) printString(c, m.properties.responseTopic, spec) }
    case 'r': return (m, c) => text(c, m.retain ? '1' : '0')
    case 'S': return (m, c) => {
      const id = firstSubscriptionId(m.properties)
      if (id !== undefined) printInt(c, id, spec)
      else printBlank(c, spec.zeroPad ? '0' : ' ', spec.width)
    }
    case 't': return (m, c) => printString(c, m.topic, spec)
    case 'U': return (_m, c) => text(c, unixTime(momentOf(c)))
    case 'x': return (m, c) => printPayload(c, m.payload, 1, spec)
    case 'X': return (m, c) => printPayload(c, m.payload, 2, spec)
    default: return () => {}
  }
}

/** Reads a %-specifier at `start` (just after '%') the way mosquitto_sub's printer does. */
function readSpecifier (format: string, start: number): { step: Step | undefined, next: number } {
  const last = format.length - 1
  let i = start
  const spec: Spec = { align: false, zeroPad: false, width: 0, precision: -1 }
  if (format[i] === '-') { spec.align = true; if (i < last) i++ }
  if (format[i] === '0') { spec.zeroPad = true; if (i < last) i++ }
  while (i < last && isDigit(format[i])) { spec.width = spec.width * 10 + Number(format[i]); i++ }
  if (format[i] === '.' && i < last) {
    i++
    spec.precision = 0
    while (i < last && isDigit(format[i])) { spec.precision = spec.precision * 10 + Number(format[i]); i++ }
  }
  return { step: i <= last ? percentStep(format[i] ?? '', spec) : undefined, next: i + 1 }
}

function literal (value: string): Step {
  const bytes = Buffer.from(value, 'utf8')
  return (_m, c) => { c.out.push(bytes) }
}

/** Checks and compiles a -F format into the steps that print one message. Throws FormatError. */
export function compileFormat (format: string): Step[] {
  checkFormat(format)
  const steps: Step[] = []
  const last = format.length - 1
  let plain = ''
  const flush = (): void => { if (plain !== '') { steps.push(literal(plain)); plain = '' } }
  for (let i = 0; i < format.length; i++) {
    const char = format[i] as string
    if (char === '%') {
      if (i === last) continue
      flush()
      const { step, next } = readSpecifier(format, i + 1)
      if (step !== undefined) steps.push(step)
      i = next - 1
    } else if (char === '@') {
      if (i === last) continue
      i++
      const code = format[i] as string
      if (code === '@') { plain += '@'; continue }
      flush()
      steps.push((_m, c) => text(c, atCode(code, momentOf(c))))
    } else if (char === '\\') {
      if (i === last) continue
      i++
      plain += ESCAPES[format[i] as string] ?? ''
    } else {
      plain += char
    }
  }
  flush()
  return steps
}

/** Prints messages as one -F / -v / -N combination says. */
export class MessagePrinter {
  private readonly steps: Step[] | undefined

  constructor (private readonly options: PrintOptions) {
    this.steps = options.format === undefined ? undefined : compileFormat(options.format)
  }

  print (message: PrintedMessage): Printed {
    const { eol, verbose } = this.options
    if (this.steps !== undefined) {
      const context: RenderContext = { out: [], moment: undefined, error: undefined, pretty: this.options.pretty }
      for (const step of this.steps) step(message, context)
      if (eol) context.out.push(NEWLINE)
      const printed: Printed = { bytes: Buffer.concat(context.out) }
      if (context.error !== undefined) printed.error = context.error
      return printed
    }
    const empty = message.payload.length === 0
    if (verbose) {
      // An empty payload prints as "(null)", and not at all with -N.
      if (empty) return { bytes: eol ? Buffer.from(`${message.topic} (null)\n`, 'utf8') : EMPTY }
      return { bytes: Buffer.concat([Buffer.from(`${message.topic} `, 'utf8'), message.payload, eol ? NEWLINE : EMPTY]) }
    }
    if (empty) return { bytes: EMPTY }
    return { bytes: eol ? Buffer.concat([message.payload, NEWLINE]) : message.payload }
  }
}

const NEWLINE = Buffer.from('\n')
const EMPTY = Buffer.alloc(0)
