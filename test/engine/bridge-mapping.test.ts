// The pure parts of a bridge: Mosquitto's topic remapping table (mosquitto.conf(5), `topic`),
// restart_timeout's constant and jittered delays, and which address each attempt goes to.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { AddressRotation, RestartDelay } from '../../lib/bridge/backoff'
import { parseAddress } from '../../lib/bridge/settings'
import { toLocalTopic, toRemoteTopic, topicMapping } from '../../lib/bridge/topics'

describe('bridge topic mapping', () => {
  test('follows the table of mosquitto.conf(5) for prefixes and "" place markers', () => {
    const rows: Array<[pattern: string, local: string, remote: string, localTopic: string, remoteTopic: string]> = [
      ['pattern', 'L/', 'R/', 'L/pattern', 'R/pattern'],
      ['pattern', 'L/', '', 'L/pattern', 'pattern'],
      ['pattern', '', 'R/', 'pattern', 'R/pattern'],
      ['pattern', '', '', 'pattern', 'pattern'],
      ['', 'local', 'remote', 'local', 'remote']
    ]
    for (const [pattern, localPrefix, remotePrefix, localTopic, remoteTopic] of rows) {
      const mappings = [topicMapping({ pattern, direction: 'both', localPrefix, remotePrefix })]
      assert.equal(toRemoteTopic(mappings, localTopic), remoteTopic, `${pattern} ${localPrefix} ${remotePrefix}`)
      assert.equal(toLocalTopic(mappings, remoteTopic), localTopic, `${pattern} ${localPrefix} ${remotePrefix}`)
    }
  })

  test('remaps wildcard patterns level by level, by the first line that matches, in its direction only', () => {
    const mappings = [
      topicMapping({ pattern: 'a/#', direction: 'out', localPrefix: 'home/', remotePrefix: 'site/1/' }),
      topicMapping({ pattern: '+/status', direction: 'in', localPrefix: 'cloud/', remotePrefix: 'fleet/' }),
      topicMapping({ pattern: '#', direction: 'both' })
    ]
    assert.equal(toRemoteTopic(mappings, 'home/a/b/c'), 'site/1/a/b/c')
    assert.equal(toRemoteTopic(mappings, 'home/a'), 'site/1/a')
    assert.equal(toLocalTopic(mappings, 'fleet/7/status'), 'cloud/7/status')
    // fleet/7/status is an `in` line: going out, the `#` line maps it unchanged.
    assert.equal(toRemoteTopic(mappings, 'fleet/7/status'), 'fleet/7/status')
    assert.equal(toLocalTopic(mappings, 'site/1/a/b'), 'site/1/a/b')
    // [MQTT-4.7.2-1] `#` does not reach $SYS topics
    assert.equal(toRemoteTopic(mappings, '$SYS/broker/uptime'), undefined)
  })
})

describe('bridge addresses and restarts', () => {
  test('parses host[:port], [v6]:port and bare IPv6 with its port', () => {
    assert.deepEqual(parseAddress('broker.local'), { host: 'broker.local', port: 1883 })
    assert.deepEqual(parseAddress('10.0.0.1:8883'), { host: '10.0.0.1', port: 8883 })
    assert.deepEqual(parseAddress('[::1]:1884'), { host: '::1', port: 1884 })
    assert.deepEqual(parseAddress('fe80::1:1885'), { host: 'fe80::1', port: 1885 })
    assert.equal(parseAddress('host:0'), undefined)
    assert.equal(parseAddress('a b'), undefined)
  })

  test('a restart_timeout without a cap is constant; with one, each delay lies between the base and three times the last, never over the cap', () => {
    const constant = new RestartDelay(5000, undefined)
    assert.deepEqual([1, 2, 3].map((attempt) => constant.next(attempt)), [5000, 5000, 5000])
    const highest = new RestartDelay(1000, 30_000, () => 1)
    assert.deepEqual([1, 2, 3, 4, 5].map((attempt) => highest.next(attempt)), [3000, 9000, 27_000, 30_000, 30_000])
    // A success starts over from the base.
    assert.equal(highest.next(1), 3000)
    const lowest = new RestartDelay(1000, 30_000, () => 0)
    assert.deepEqual([1, 2, 3].map((attempt) => lowest.next(attempt)), [1000, 1000, 1000])
  })

  test('without round_robin a dropped link goes back to the main address; with it, to the next one', () => {
    const addresses = [{ host: 'main', port: 1 }, { host: 'second', port: 2 }, { host: 'third', port: 3 }]
    const main = new AddressRotation(addresses, false)
    const picks = [main.pick().host, main.pick().host]
    main.connected()
    picks.push(main.pick().host, main.pick().host, main.pick().host, main.pick().host)
    assert.deepEqual(picks, ['main', 'second', 'main', 'second', 'third', 'main'])
    const equal = new AddressRotation(addresses, true)
    const rr = [equal.pick().host, equal.pick().host]
    equal.connected()
    rr.push(equal.pick().host, equal.pick().host)
    assert.deepEqual(rr, ['main', 'second', 'third', 'main'])
  })
})
