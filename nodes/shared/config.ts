// Reading values from a node's config: the editor stores numbers as strings and leaves fields
// empty, so every read names its default.

export function readInt (value: unknown, fallback: number): number {
  if (value === undefined || value === null || value === '') return fallback
  const number = Number(value)
  return Number.isInteger(number) ? number : fallback
}

export function readBool (value: unknown, fallback: boolean): boolean {
  if (value === true || value === 'true') return true
  if (value === false || value === 'false') return false
  return fallback
}

export function readString (value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback
}
