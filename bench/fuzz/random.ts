// The fuzzer's one source of chance: a seeded generator (the tests' mulberry32), so a batch
// replays byte for byte from its seed. Each batch starts from a seed of its own, derived from the
// one before, so a finding's batch seed given as --seed replays that batch first.
import { seededRandom } from '../../test/engine/bad-input/prng'

export class Random {
  private readonly next: () => number

  constructor (readonly seed: number) {
    this.next = seededRandom(seed)
  }

  /** A number in [0, 1). */
  float (): number {
    return this.next()
  }

  /** A whole number in [min, max]. */
  int (min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  /** True with probability `p`. */
  chance (p: number): boolean {
    return this.next() < p
  }

  pick<T> (items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T
  }

  bytes (count: number): Buffer {
    const bytes = Buffer.allocUnsafe(count)
    for (let i = 0; i < count; i++) bytes[i] = Math.floor(this.next() * 256)
    return bytes
  }
}

/** The seed of the batch after the one seeded `seed`: a 32-bit mix, never 0. */
export function followingSeed (seed: number): number {
  let x = (seed ^ 0x9e3779b9) >>> 0
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0
  x = (x ^ (x >>> 16)) >>> 0
  return x === 0 ? 1 : x
}
