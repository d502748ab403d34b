// check_retain_source: a retained message is delivered on subscribe only while its publisher may
// still write its topic. The publisher loses write access through an acl_file reload; MQTT.js
// subscribers over 3.1.1 and 5 then no longer receive what it left, and receive it again without
// the option.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { after, describe, test } from 'node:test'
import { makeTempDir } from '../cli/helpers'
import { type RunningBroker, startBroker } from '../clients/support'
import { connectV5, publish } from '../mqtt5/mqttjs'

const ACL = 'user writer\ntopic readwrite status/#\ntopic readwrite end/#\nuser reader\ntopic read #\n'
const PASSWORDS = 'writer:writer-pw\nreader:reader-pw\n'

describe('check_retain_source', { timeout: 30_000 }, () => {
  const temp = makeTempDir()
  after(() => { temp.remove() })

  /** A broker where `writer` left a retained message and then lost write access to it (an acl_file reload). */
  async function revokedWriter (checkRetainSource: boolean, t: Parameters<typeof connectV5>[0]): Promise<RunningBroker> {
    const aclFile = temp.write(`acl-${String(checkRetainSource)}`, ACL)
    const running = await startBroker({ aclFile, passwordFile: temp.write('passwd', PASSWORDS), checkRetainSource })
    t.after(async () => { await running.broker.close() })
    const writer = await connectV5(t, running.port, { clientId: 'writer-1', username: 'writer', password: 'writer-pw' })
    await publish(writer, 'status/door', 'open', { qos: 1, retain: true })
    await publish(writer, 'end/marker', 'marker', { qos: 1, retain: true })
    writeFileSync(aclFile, ACL.replace('topic readwrite status/#\n', ''))
    await running.broker.reload()
    return running
  }

  for (const protocolVersion of [4, 5] as const) {
    test(`on: a subscriber over MQTT ${protocolVersion === 5 ? '5' : '3.1.1'} gets no retained message from a publisher that lost write access`, async (t) => {
      const { port } = await revokedWriter(true, t)
      const reader = await connectV5(t, port, { protocolVersion, clientId: `reader-${protocolVersion}`, username: 'reader', password: 'reader-pw' })
      await reader.client.subscribeAsync(['status/#', 'end/#'], { qos: 1 })
      const first = await reader.next()
      // The marker, still writable by its publisher, comes; the revoked one does not.
      assert.deepEqual([first.topic, first.payload, first.packet.retain], ['end/marker', 'marker', true])
    })
  }

  test('off (the default): the retained message is delivered whatever its publisher may do now', async (t) => {
    const { port } = await revokedWriter(false, t)
    const reader = await connectV5(t, port, { clientId: 'reader-off', username: 'reader', password: 'reader-pw' })
    await reader.client.subscribeAsync(['status/#', 'end/#'], { qos: 1 })
    const received = [await reader.next(), await reader.next()].map((message) => message.topic).sort()
    assert.deepEqual(received, ['end/marker', 'status/door'])
  })
})
