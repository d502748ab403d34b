// CONNACK and SUBACK are encoded by hand on the CONNECT / SUBSCRIBE path: the bytes must be the
// very ones the general encoder (mqtt-packet) writes for the same packet, in every version.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import mqttPacket from 'mqtt-packet'
import { encodeConnackAccepted, encodeSuback } from '../../lib/codec/acks'

test('CONNACK accepted, MQTT 3.1.1: 20 02 flags 00 [MQTT-3.2.2-1] [MQTT-3.2.2-2]', () => {
  for (const sessionPresent of [false, true]) {
    const expected = mqttPacket.generate({ cmd: 'connack', sessionPresent, returnCode: 0 }, { protocolVersion: 4 })
    assert.deepEqual(encodeConnackAccepted(sessionPresent, false), expected)
    assert.deepEqual([...expected], [0x20, 0x02, sessionPresent ? 1 : 0, 0x00])
  }
})

test('CONNACK accepted, MQTT 5.0: reason code Success and an empty property block', () => {
  for (const sessionPresent of [false, true]) {
    const expected = mqttPacket.generate({ cmd: 'connack', sessionPresent, reasonCode: 0 }, { protocolVersion: 5 })
    assert.deepEqual(encodeConnackAccepted(sessionPresent, true), expected)
    assert.deepEqual([...expected], [0x20, 0x03, sessionPresent ? 1 : 0, 0x00, 0x00])
  }
})

test('SUBACK: packet id and one code per filter, in order [MQTT-3.8.4-1] [MQTT-3.8.4-5]', () => {
  const cases: Array<[number, number[]]> = [[1, [0]], [65535, [0, 1, 2, 0x80]], [300, [2, 0x87, 1]],
    // 200 filters: the remaining length takes two bytes.
    [7, Array.from({ length: 200 }, (_, i) => i % 3)]]
  for (const [messageId, granted] of cases) {
    assert.deepEqual(encodeSuback(messageId, granted, false), mqttPacket.generate({ cmd: 'suback', messageId, granted }, { protocolVersion: 4 }))
    assert.deepEqual(encodeSuback(messageId, granted, true), mqttPacket.generate({ cmd: 'suback', messageId, granted }, { protocolVersion: 5 }))
  }
  assert.deepEqual([...encodeSuback(0x0102, [1, 0x80], false)], [0x90, 0x04, 0x01, 0x02, 0x01, 0x80])
  assert.deepEqual([...encodeSuback(0x0102, [1, 0x87], true)], [0x90, 0x05, 0x01, 0x02, 0x00, 0x01, 0x87])
})
