// Helpers for MQTT 5 engine specs: CONNECT with properties through the raw client, and literal
// packets for what mqtt-packet will not encode (duplicate or misplaced properties).
import assert from 'node:assert/strict'
import type mqttPacket from 'mqtt-packet'
import type { Harness } from '../helpers/broker'
import type { RawClient } from '../helpers/raw-client'
import { packet } from '../engine/bad-input/raw'

export type ConnectProperties = NonNullable<mqttPacket.IConnectPacket['properties']>

export interface Connect5Options {
  clientId?: string
  clean?: boolean
  keepalive?: number
  username?: string
  password?: string
  properties?: ConnectProperties
  will?: mqttPacket.IConnectPacket['will']
}

export function connect5Packet (options: Connect5Options = {}): mqttPacket.IConnectPacket {
  const packet: mqttPacket.IConnectPacket = {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 5,
    clientId: options.clientId ?? '',
    clean: options.clean ?? true,
    keepalive: options.keepalive ?? 0
  }
  if (options.properties !== undefined) packet.properties = options.properties
  if (options.username !== undefined) packet.username = options.username
  if (options.password !== undefined) packet.password = Buffer.from(options.password)
  if (options.will !== undefined) packet.will = options.will
  return packet
}

/** Opens an MQTT 5 connection; returns the client and the CONNACK, asserted successful. */
export async function connect5 (harness: Harness, options: Connect5Options = {}): Promise<{ client: RawClient, connack: mqttPacket.IConnackPacket }> {
  const client = await harness.open(5)
  client.send(connect5Packet(options))
  const connack = await client.next() as mqttPacket.IConnackPacket
  assert.equal(connack.cmd, 'connack')
  assert.equal(connack.reasonCode, 0, `CONNACK reason ${String(connack.reasonCode)}`)
  return { client, connack }
}

/** Takes the next packet and checks its type; returns it typed. */
export async function nextOf<T extends mqttPacket.Packet> (client: RawClient, cmd: T['cmd']): Promise<T> {
  const packet = await client.next()
  assert.equal(packet.cmd, cmd, `expected ${cmd}, got ${JSON.stringify({ ...packet, payload: undefined })}`)
  return packet as T
}

/** A whole packet from a type byte and a body: for bytes mqtt-packet would refuse to write. */
export const rawPacket = packet

/** Length-prefixed UTF-8, as an array of bytes. */
export function utf8 (text: string): number[] {
  const bytes = Buffer.from(text)
  return [bytes.length >> 8, bytes.length & 0xff, ...bytes]
}

/** An MQTT 5 CONNECT body with a literal property block (its bytes after the length). */
export function connectWithProperties (propertyBytes: number[], clientId = 'raw'): Buffer {
  return rawPacket(0x10, [...utf8('MQTT'), 5, 0x02, 0, 0, propertyBytes.length, ...propertyBytes, ...utf8(clientId)])
}

export function wait (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
