// `log_timestamp_format`: Mosquitto hands it to the C library's strftime() in local time and the
// "C" locale. Roost takes the conversions that mean the same everywhere and refuses the rest
// (locale variants, ISO week numbers, time zone names, GNU padding flags) when the file is read,
// rather than printing something different from what Mosquitto would.

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']

type Conversion = (date: Date) => string

function pad (value: number, width: number, fill = '0'): string {
  return String(value).padStart(width, fill)
}

function hour12 (date: Date): number {
  return date.getHours() % 12 === 0 ? 12 : date.getHours() % 12
}

function dayOfYear (date: Date): number {
  // Whole local days since 1 January: rounding absorbs a daylight-saving hour.
  const start = new Date(date.getFullYear(), 0, 1)
  return Math.round((new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime() - start.getTime()) / 86_400_000) + 1
}

function utcOffset (date: Date): string {
  const minutes = -date.getTimezoneOffset()
  const sign = minutes < 0 ? '-' : '+'
  const magnitude = Math.abs(minutes)
  return `${sign}${pad(Math.floor(magnitude / 60), 2)}${pad(magnitude % 60, 2)}`
}

const CONVERSIONS: Record<string, Conversion> = {
  a: (d) => (DAYS[d.getDay()] as string).slice(0, 3),
  A: (d) => DAYS[d.getDay()] as string,
  b: (d) => (MONTHS[d.getMonth()] as string).slice(0, 3),
  h: (d) => (MONTHS[d.getMonth()] as string).slice(0, 3),
  B: (d) => MONTHS[d.getMonth()] as string,
  C: (d) => pad(Math.floor(d.getFullYear() / 100), 2),
  d: (d) => pad(d.getDate(), 2),
  e: (d) => pad(d.getDate(), 2, ' '),
  H: (d) => pad(d.getHours(), 2),
  I: (d) => pad(hour12(d), 2),
  j: (d) => pad(dayOfYear(d), 3),
  k: (d) => pad(d.getHours(), 2, ' '),
  l: (d) => pad(hour12(d), 2, ' '),
  m: (d) => pad(d.getMonth() + 1, 2),
  M: (d) => pad(d.getMinutes(), 2),
  n: () => '\n',
  p: (d) => (d.getHours() < 12 ? 'AM' : 'PM'),
  P: (d) => (d.getHours() < 12 ? 'am' : 'pm'),
  s: (d) => String(Math.floor(d.getTime() / 1000)),
  S: (d) => pad(d.getSeconds(), 2),
  t: () => '\t',
  u: (d) => String(d.getDay() === 0 ? 7 : d.getDay()),
  w: (d) => String(d.getDay()),
  y: (d) => pad(d.getFullYear() % 100, 2),
  Y: (d) => String(d.getFullYear()),
  z: utcOffset,
  '%': () => '%'
}

// The C locale's composite conversions, spelled out.
const COMPOSITES: Record<string, string> = {
  c: '%a %b %e %H:%M:%S %Y',
  D: '%m/%d/%y',
  F: '%Y-%m-%d',
  r: '%I:%M:%S %p',
  R: '%H:%M',
  T: '%H:%M:%S',
  x: '%m/%d/%y',
  X: '%H:%M:%S'
}

/** Every conversion Roost writes, for the error message. */
const SUPPORTED = [...Object.keys(CONVERSIONS), ...Object.keys(COMPOSITES)].filter((c) => c !== '%').sort().map((c) => `%${c}`).join(' ')

/** The format as literal text and conversions; throws an Error naming the first unknown conversion. */
function parseFormat (format: string, parts: Array<string | Conversion>): void {
  let literal = ''
  for (let i = 0; i < format.length; i++) {
    const char = format[i] as string
    if (char !== '%') {
      literal += char
      continue
    }
    const letter = format[++i]
    if (letter === undefined) throw new Error("ends with a lone '%'")
    const conversion = CONVERSIONS[letter]
    const composite = COMPOSITES[letter]
    if (conversion === undefined && composite === undefined) throw new Error(`'%${letter}' is not supported; use ${SUPPORTED} or %%`)
    if (literal !== '') parts.push(literal)
    literal = ''
    if (conversion !== undefined) parts.push(conversion)
    else parseFormat(composite as string, parts)
  }
  if (literal !== '') parts.push(literal)
}

/** Turns a strftime() format into a function of a Date, in local time. Throws an Error for a conversion Roost does not write. */
export function compileTimeFormat (format: string): (date: Date) => string {
  const parts: Array<string | Conversion> = []
  parseFormat(format, parts)
  return (date) => {
    let text = ''
    for (const part of parts) text += typeof part === 'string' ? part : part(date)
    return text
  }
}
