// What the fuzzer reports: each finding with the seed that replays its batch, the case, and the
// bytes that caused it, folded by kind and message so a bug seen a thousand times is one entry.

export type FindingKind = 'parser-exception' | 'decoder-state' | 'slow-parse' | 'broker-error' | 'uncaught' | 'hang' |
'connection-left-open' | 'health-check' | 'memory-growth'

export interface Finding {
  kind: FindingKind
  /** What went wrong: an exception's message, the check that failed. */
  message: string
  /** The seed of the batch: `--seed <it>` replays that batch first. */
  batchSeed: number
  /** The case within the batch, when known. */
  caseIndex?: number
  /** What the culprit bytes are (`publish-qos1 +flip`), when known. */
  how?: string
  /** The packet that caused it, when known. */
  bytes?: Buffer
  /** A stack, or further detail. */
  detail?: string
}

/** Longest part of the packet shown in hex: a finding needs its head, not 200 KB. */
const HEX_BYTES = 256

export function hex (bytes: Buffer): string {
  const shown = bytes.subarray(0, HEX_BYTES).toString('hex').replace(/(..)/g, '$1 ').trim()
  return bytes.length > HEX_BYTES ? `${shown} ... (${bytes.length} bytes)` : shown
}

export class Findings {
  /** First occurrence of each distinct finding, with how often it was seen. */
  private readonly seen = new Map<string, { finding: Finding, count: number }>()

  constructor (private readonly onNew: (finding: Finding) => void = () => {}) {}

  add (finding: Finding): void {
    const key = `${finding.kind}: ${finding.message.replace(/\d+/g, '#')}`
    const entry = this.seen.get(key)
    if (entry !== undefined) {
      entry.count++
      return
    }
    this.seen.set(key, { finding, count: 1 })
    this.onNew(finding)
  }

  get size (): number {
    return this.seen.size
  }

  all (): Array<{ finding: Finding, count: number }> {
    return [...this.seen.values()]
  }
}

export function describeFinding (finding: Finding, count = 1): string {
  const lines = [`[${finding.kind}] ${finding.message}${count > 1 ? ` (seen ${count} times)` : ''}`]
  const where = finding.caseIndex === undefined ? '' : `, case ${finding.caseIndex}`
  lines.push(`  replay: npm run fuzz -- --seed ${finding.batchSeed} (batch seed${where})`)
  if (finding.how !== undefined) lines.push(`  packet: ${finding.how}`)
  if (finding.bytes !== undefined) lines.push(`  bytes:  ${hex(finding.bytes)}`)
  if (finding.detail !== undefined) lines.push(...finding.detail.split('\n').slice(0, 8).map((line) => `  ${line}`))
  return lines.join('\n')
}
