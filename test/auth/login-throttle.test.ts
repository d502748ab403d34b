// Repeated bad passwords from one address are answered more and more slowly: the schedule and the
// bounded table on their own (with a clock the test sets), then a broker answering MQTT.js and raw
// CONNECTs. No timing is asserted: the broker says in its log how long it held each refusal.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { consoleLogger } from '../../lib/logger'
import { FORGET_AFTER_MS, FREE_FAILURES, LoginThrottle, MAX_ADDRESSES, MAX_DELAY_MS, refusalDelayMs } from '../../lib/auth/login-throttle'
import { connectRaw } from '../cli/helpers'
import { startBroker } from '../clients/support'
import { connectV5 } from '../mqtt5/mqttjs'

test('the wait doubles after the free failures and stops at its bound', () => {
  const waits = Array.from({ length: FREE_FAILURES + 8 }, (_, i) => refusalDelayMs(i + 1))
  assert.deepEqual(waits, [0, 0, 0, 250, 500, 1000, 2000, 4000, 4000, 4000, 4000])
  assert.equal(refusalDelayMs(1_000_000), MAX_DELAY_MS)
})

test('an address is forgotten after a success or a quiet spell, and the table never holds more than its bound', () => {
  let now = 0
  const throttle = new LoginThrottle(() => now)
  for (let i = 0; i < FREE_FAILURES; i++) throttle.failed('10.0.0.1')
  assert.deepEqual(throttle.failed('10.0.0.1'), { delayMs: 250, count: FREE_FAILURES + 1 })
  throttle.succeeded('10.0.0.1')
  assert.deepEqual(throttle.failed('10.0.0.1'), { delayMs: 0, count: 1 })
  now += FORGET_AFTER_MS + 1
  assert.deepEqual(throttle.failed('10.0.0.1'), { delayMs: 0, count: 1 })
  for (let i = 0; i < MAX_ADDRESSES + 100; i++) throttle.failed(`192.168.${i >> 8}.${i & 255}`)
  assert.equal(throttle.size, MAX_ADDRESSES)
  // The address that failed longest ago made room first.
  assert.deepEqual(throttle.failed('10.0.0.1'), { delayMs: 0, count: 1 })
})

test('a broker holds the refusing CONNACK of repeated bad passwords from one address, and a good password still gets in at once', { timeout: 30_000 }, async (t) => {
  const lines: string[] = []
  const running = await startBroker({ users: { alice: 'right' } }, { logger: consoleLogger('notice', (line) => { lines.push(line) }) })
  t.after(async () => { await running.broker.close() })
  const { port } = running
  const held = (): string[] => lines.filter((line) => line.includes(' ms wait: '))
  for (let i = 1; i <= FREE_FAILURES + 2; i++) {
    // [MQTT-3.2.2-6] the refusal still comes, with return code 4
    assert.deepEqual(await connectRaw(port, { clientId: `guess-${i}`, username: 'alice', password: `guess-${i}` }), Buffer.from([0x20, 0x02, 0x00, 0x04]))
  }
  assert.equal(held().length, 2)
  assert.match(held()[0] ?? '', /Client guess-4 \(127\.0\.0\.1\) refused after a 250 ms wait: 4 failed logins in a row from 127\.0\.0\.1\.$/)
  assert.match(held()[1] ?? '', /refused after a 500 ms wait: 5 failed logins in a row/)
  // MQTT.js over MQTT 5 with the right password: accepted, and the address starts afresh.
  const alice = await connectV5(t, port, { clientId: 'alice', username: 'alice', password: 'right' })
  assert.equal(alice.connack.reasonCode ?? 0, 0)
  assert.equal((await connectRaw(port, { clientId: 'typo', username: 'alice', password: 'rihgt', protocolVersion: 5 }))[3], 0x86)
  assert.equal(held().length, 2)
})
