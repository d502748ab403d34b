// Two connected in-memory streams, like the two ends of a socket: what one end writes, the
// other reads; ending or destroying one closes the other. A transport without a network.
import { Duplex } from 'node:stream'

export function duplexPair (): [Duplex, Duplex] {
  const ends: Duplex[] = []
  const make = (index: number): Duplex => new Duplex({
    read () {},
    write (chunk: Buffer, _encoding, callback) {
      ends[1 - index]?.push(chunk)
      callback()
    },
    final (callback) {
      ends[1 - index]?.push(null)
      callback()
    },
    destroy (error, callback) {
      const other = ends[1 - index]
      if (other !== undefined && !other.destroyed) other.destroy()
      callback(error)
    }
  })
  ends.push(make(0), make(1))
  return [ends[0] as Duplex, ends[1] as Duplex]
}
