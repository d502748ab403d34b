// JSON as mosquitto_sub prints it for %j and %J (it uses cJSON): strings escape '"', '\' and
// control characters only, other bytes pass as they are; whole numbers print as integers,
// others with 15 significant digits (17 when 15 do not read back the same); --pretty indents
// with tabs. Values are built as JsonValue trees so the order of keys is the order written.

export type JsonValue = string | Buffer | number | boolean | null | JsonValue[] | JsonObject
/** Keys with values, in order; a key may repeat (user properties with the same name). */
export interface JsonObject { entries: Array<[string, JsonValue]> }

const SHORT_ESCAPES: Record<number, string> = { 0x22: '\\"', 0x5c: '\\\\', 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t' }

/** A JSON string from bytes; a C string ends at the first NUL, and so does this one. */
export function jsonString (value: string | Buffer): Buffer {
  let bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
  const nul = bytes.indexOf(0)
  if (nul >= 0) bytes = bytes.subarray(0, nul)
  const parts: Buffer[] = [Buffer.from('"')]
  let start = 0
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number
    if (byte >= 0x20 && byte !== 0x22 && byte !== 0x5c) continue
    parts.push(bytes.subarray(start, i))
    parts.push(Buffer.from(SHORT_ESCAPES[byte] ?? `\\u${byte.toString(16).padStart(4, '0')}`))
    start = i + 1
  }
  parts.push(bytes.subarray(start), Buffer.from('"'))
  return Buffer.concat(parts)
}

/** printf's %.<precision>g. */
function gFormat (value: number, precision: number): string {
  if (value === 0) return Object.is(value, -0) ? '-0' : '0'
  const exponent = Math.floor(Math.log10(Math.abs(Number(value.toPrecision(precision)))))
  if (exponent < -4 || exponent >= precision) {
    const [mantissa = '', power = '0'] = value.toExponential(precision - 1).split('e')
    const trimmed = mantissa.includes('.') ? mantissa.replace(/\.?0+$/, '') : mantissa
    const powerNumber = Number(power)
    return `${trimmed}e${powerNumber < 0 ? '-' : '+'}${String(Math.abs(powerNumber)).padStart(2, '0')}`
  }
  const fixed = value.toFixed(Math.max(0, precision - 1 - exponent))
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed
}

export function jsonNumber (value: number): string {
  if (!Number.isFinite(value)) return 'null'
  if (Number.isInteger(value) && value >= -2147483648 && value <= 2147483647) return String(value)
  const short = gFormat(value, 15)
  return Number(short) === value ? short : gFormat(value, 17)
}

/** Turns what JSON.parse gave into a JsonValue (objects keep JSON.parse's key order). */
export function fromParsed (value: unknown): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value
  if (Array.isArray(value)) return value.map(fromParsed)
  return { entries: Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, fromParsed(item)]) }
}

function tabs (count: number): string {
  return '\t'.repeat(count)
}

function print (value: JsonValue, pretty: boolean, depth: number, out: Array<Buffer | string>): void {
  if (value === null) out.push('null')
  else if (typeof value === 'boolean') out.push(value ? 'true' : 'false')
  else if (typeof value === 'number') out.push(jsonNumber(value))
  else if (typeof value === 'string' || Buffer.isBuffer(value)) out.push(jsonString(value))
  else if (Array.isArray(value)) {
    out.push('[')
    value.forEach((item, index) => {
      if (index > 0) out.push(pretty ? ', ' : ',')
      print(item, pretty, depth + 1, out)
    })
    out.push(']')
  } else {
    out.push(pretty ? '{\n' : '{')
    value.entries.forEach(([key, item], index) => {
      if (index > 0) out.push(pretty ? ',\n' : ',')
      if (pretty) out.push(tabs(depth + 1))
      out.push(jsonString(key), pretty ? ':\t' : ':')
      print(item, pretty, depth + 1, out)
    })
    out.push(pretty ? `${value.entries.length > 0 ? '\n' : ''}${tabs(depth)}}` : '}')
  }
}

/** The bytes of a JSON value, compact or (--pretty) indented with tabs. */
export function printJson (value: JsonValue, pretty: boolean): Buffer {
  const out: Array<Buffer | string> = []
  print(value, pretty, 0, out)
  return Buffer.concat(out.map((part) => typeof part === 'string' ? Buffer.from(part, 'utf8') : part))
}
