// Bridges given in code: createBroker() and broker.setBridges() check them as a config file's
// are checked, with a clear error naming the bridge, and a refused change leaves the running
// bridges as they were.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ConfigError, createBroker } from '../../lib'
import type { BridgeOptions } from '../../lib/bridge/options'

const good: BridgeOptions = { name: 'ok', addresses: ['127.0.0.1:1'], startType: 'lazy', topics: [{ pattern: 'a/#' }] }

test('createBroker refuses a bad bridge with a message naming it', () => {
  const cases: Array<[Partial<BridgeOptions>, string]> = [
    [{ addresses: ['host:70000'] }, "bridge 'ok': address 'host:70000' is not host[:port] with a port from 1 to 65535"],
    [{ topics: [{ pattern: '', localPrefix: 'a' }] }, "bridge 'ok': topic '': a pattern of \"\" needs both a local and a remote prefix"],
    [{ tls: { identity: 'me' } }, "bridge 'ok': bridge_identity and bridge_psk go together"],
    [{ remotePassword: 'secret' }, "bridge 'ok': remote_password needs remote_username"],
    [{ restartTimeoutSec: 30, restartTimeoutCapSec: 10 }, "bridge 'ok': the restart_timeout cap is below its base"],
    [{ keepaliveSec: 1 }, 'bridges.0.keepaliveSec must be >= 5']
  ]
  for (const [change, message] of cases) {
    assert.throws(() => createBroker({ bridges: [{ ...good, ...change }] }), (error: unknown) => {
      assert.ok(error instanceof ConfigError)
      assert.equal(error.message, message)
      return true
    })
  }
  assert.throws(() => createBroker({ bridges: [good, good] }), /bridge 'ok' is defined twice/)
})

test('setBridges refuses a bad list and keeps the bridges it had', async () => {
  const broker = createBroker({ sysIntervalSec: 0, bridges: [good] })
  await broker.listen()
  try {
    assert.deepEqual(broker.bridgeStates().map(({ name, state }) => ({ name, state })), [{ name: 'ok', state: 'idle' }])
    await assert.rejects(broker.setBridges([{ ...good, name: 'bad', addresses: [] }]), /bridges\.0\.addresses must NOT have fewer than 1 items/)
    assert.deepEqual(broker.bridgeStates().map(({ name, state }) => ({ name, state })), [{ name: 'ok', state: 'idle' }])
    assert.deepEqual(broker.options.bridges, [good])
  } finally {
    await broker.close()
  }
  assert.deepEqual(broker.bridgeStates(), [])
})
