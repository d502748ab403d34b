// The time codes of `roost sub -F`: mosquitto_sub's @-codes are strftime(3) conversions of the
// local time, @N the nanoseconds, %I an ISO 8601 time and %U Unix seconds with nanoseconds. This
// is strftime for the C locale (what a command in a shell prints with LANG=C), on a Date.

/** One moment, read once per message so every code in a format shows the same time. */
export interface Moment {
  date: Date
  /** Nanoseconds within the second. */
  nanoseconds: number
}

export function now (): Moment {
  // timeOrigin + now() carries microseconds, where Date.now() stops at milliseconds.
  const exactMs = performance.timeOrigin + performance.now()
  const date = new Date(Math.floor(exactMs))
  const nanoseconds = Math.min(999_999_999, Math.floor((exactMs % 1000) * 1_000_000))
  return { date, nanoseconds }
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']

function pad (value: number, width: number, fill = '0'): string {
  return String(value).padStart(width, fill)
}

function dayOfYear (date: Date): number {
  const start = new Date(date.getFullYear(), 0, 1)
  return Math.round((Date.UTC(date.getFullYear(), date.getMonth(), date.getDate()) - Date.UTC(start.getFullYear(), 0, 1)) / 86_400_000)
}

/** ISO 8601 week number and its year (%V, %G, %g). */
function isoWeek (date: Date): { week: number, year: number } {
  const day = new Date(Date.UTC(date.getFullYear(), date.getMonth(), date.getDate()))
  const weekday = day.getUTCDay() === 0 ? 7 : day.getUTCDay()
  day.setUTCDate(day.getUTCDate() + 4 - weekday)
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1)
  return { week: Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7), year: day.getUTCFullYear() }
}

/** %z: the offset from UTC as +hhmm. */
function utcOffset (date: Date): string {
  const minutes = -date.getTimezoneOffset()
  const sign = minutes < 0 ? '-' : '+'
  const magnitude = Math.abs(minutes)
  return `${sign}${pad(Math.floor(magnitude / 60), 2)}${pad(magnitude % 60, 2)}`
}

/** %Z: the zone's short name as the system knows it ("UTC", "CET"). */
function zoneName (date: Date): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(date).find((p) => p.type === 'timeZoneName')
  return part?.value ?? ''
}

function hour12 (date: Date): number {
  const hour = date.getHours() % 12
  return hour === 0 ? 12 : hour
}

/**
 * One strftime conversion of the C locale, or undefined for a character strftime does not know
 * (glibc then prints the conversion as it was written).
 */
export function strftimeCode (code: string, date: Date): string | undefined {
  switch (code) {
    case 'a': return DAYS[date.getDay()]?.slice(0, 3)
    case 'A': return DAYS[date.getDay()]
    case 'b': case 'h': return MONTHS[date.getMonth()]?.slice(0, 3)
    case 'B': return MONTHS[date.getMonth()]
    case 'c': return `${strftimeCode('a', date) ?? ''} ${strftimeCode('b', date) ?? ''} ${pad(date.getDate(), 2, ' ')} ${strftimeCode('T', date) ?? ''} ${date.getFullYear()}`
    case 'C': return pad(Math.floor(date.getFullYear() / 100), 2)
    case 'd': return pad(date.getDate(), 2)
    case 'D': return `${pad(date.getMonth() + 1, 2)}/${pad(date.getDate(), 2)}/${pad(date.getFullYear() % 100, 2)}`
    case 'e': return pad(date.getDate(), 2, ' ')
    case 'F': return `${date.getFullYear()}-${pad(date.getMonth() + 1, 2)}-${pad(date.getDate(), 2)}`
    case 'g': return pad(isoWeek(date).year % 100, 2)
    case 'G': return String(isoWeek(date).year)
    case 'H': return pad(date.getHours(), 2)
    case 'I': return pad(hour12(date), 2)
    case 'j': return pad(dayOfYear(date) + 1, 3)
    case 'k': return pad(date.getHours(), 2, ' ')
    case 'l': return pad(hour12(date), 2, ' ')
    case 'm': return pad(date.getMonth() + 1, 2)
    case 'M': return pad(date.getMinutes(), 2)
    case 'n': return '\n'
    case 'p': return date.getHours() < 12 ? 'AM' : 'PM'
    case 'P': return date.getHours() < 12 ? 'am' : 'pm'
    case 'r': return `${pad(hour12(date), 2)}:${pad(date.getMinutes(), 2)}:${pad(date.getSeconds(), 2)} ${strftimeCode('p', date) ?? ''}`
    case 'R': return `${pad(date.getHours(), 2)}:${pad(date.getMinutes(), 2)}`
    case 's': return String(Math.floor(date.getTime() / 1000))
    case 'S': return pad(date.getSeconds(), 2)
    case 't': return '\t'
    case 'T': return `${pad(date.getHours(), 2)}:${pad(date.getMinutes(), 2)}:${pad(date.getSeconds(), 2)}`
    case 'u': return String(date.getDay() === 0 ? 7 : date.getDay())
    case 'U': return pad(Math.floor((dayOfYear(date) + 7 - date.getDay()) / 7), 2)
    case 'V': return pad(isoWeek(date).week, 2)
    case 'w': return String(date.getDay())
    case 'W': return pad(Math.floor((dayOfYear(date) + 7 - ((date.getDay() + 6) % 7)) / 7), 2)
    case 'x': return strftimeCode('D', date)
    case 'X': return strftimeCode('T', date)
    case 'y': return pad(date.getFullYear() % 100, 2)
    case 'Y': return String(date.getFullYear())
    case 'z': return utcOffset(date)
    case 'Z': return zoneName(date)
    case '%': return '%'
    default: return undefined
  }
}

/** `@c` of a format: strftime's %c, @N the nanoseconds; an unknown letter prints as written. */
export function atCode (code: string, moment: Moment): string {
  if (code === 'N') return pad(moment.nanoseconds, 9)
  return strftimeCode(code, moment.date) ?? `%${code}`
}

/** %I: the local time as ISO 8601 (strftime "%FT%T%z"). */
export function isoTime (moment: Moment): string {
  return `${strftimeCode('F', moment.date) ?? ''}T${strftimeCode('T', moment.date) ?? ''}${utcOffset(moment.date)}`
}

/** %U: Unix time in seconds, a dot and nanoseconds. */
export function unixTime (moment: Moment): string {
  return `${Math.floor(moment.date.getTime() / 1000)}.${pad(moment.nanoseconds, 9)}`
}

/** The "tst" of JSON output: local time with microseconds, then Z and the offset, as mosquitto_sub writes it. */
export function jsonTime (moment: Moment): string {
  return `${strftimeCode('F', moment.date) ?? ''}T${strftimeCode('T', moment.date) ?? ''}.${pad(Math.floor(moment.nanoseconds / 1000), 6)}Z${utcOffset(moment.date)}`
}
