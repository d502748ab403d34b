// A small seeded pseudo-random generator (mulberry32), so "random" input is the same on every
// run and a failure can be replayed from its seed.
export function seededRandom (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `count` buffers of 1 to `maxBytes` random bytes each. */
export function randomBuffers (seed: number, count: number, maxBytes: number): Buffer[] {
  const next = seededRandom(seed)
  const buffers: Buffer[] = []
  for (let i = 0; i < count; i++) {
    const buffer = Buffer.alloc(1 + Math.floor(next() * maxBytes))
    for (let j = 0; j < buffer.length; j++) buffer[j] = Math.floor(next() * 256)
    buffers.push(buffer)
  }
  return buffers
}
