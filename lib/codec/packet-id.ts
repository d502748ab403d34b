// Packet identifiers, for the broker's sessions and the client engine alike: 1 to 65,535 (0 is
// never used [MQTT-2.3.1-1]), handed out in turn and never one still in use [MQTT-2.3.1-2].

export const MAX_PACKET_ID = 65535

/** The identifier after `id`, wrapping from 65,535 back to 1. */
export function followingPacketId (id: number): number {
  return id === MAX_PACKET_ID ? 1 : id + 1
}

/** The first identifier from `start` on that `inUse` does not hold; 0 when all 65,535 are taken. */
export function firstFreePacketId (start: number, inUse: { has (id: number): boolean, readonly size: number }): number {
  if (inUse.size >= MAX_PACKET_ID) return 0
  let id = start
  while (inUse.has(id)) id = followingPacketId(id)
  return id
}
