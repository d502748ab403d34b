// The topic explorer's index: counts of topics and messages per level, the caps on topics and on
// payload bytes (per topic and in total), rates from a stepped clock, history, a cleared retained
// message leaving the tree, and search by text or MQTT filter.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Message } from '../../lib'
import { INDEX_DEFAULTS, TopicIndex } from '../../nodes/explorer/topic-index'
import { childrenOf, detailsOf, search } from '../../nodes/explorer/views'

function message (topic: string, payload: string | Buffer, retain = false, qos: 0 | 1 | 2 = 0): Message {
  return { id: 0, topic, payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload), qos, retain }
}

describe('explorer topic index', () => {
  it('counts topics and messages at and below each level; children come sorted with their last value', () => {
    const index = new TopicIndex(INDEX_DEFAULTS, () => 5000)
    index.record(message('home/kitchen/temp', '21', true, 1))
    index.record(message('home/kitchen/temp', '22', true, 1))
    index.record(message('home/hall/light', 'on'))
    index.record(message('home', 'root topic too'))
    assert.equal(index.topicCount, 3)
    assert.deepEqual(childrenOf(index, undefined, 0)?.map((row) => [row.path, row.topics, row.messages, row.hasChildren]), [['home', 3, 4, true]])
    const home = childrenOf(index, 'home', 0)
    assert.deepEqual(home?.map((row) => [row.path, row.topics, row.messages]), [['home/hall', 1, 1], ['home/kitchen', 1, 2]])
    const [temp] = childrenOf(index, 'home/kitchen', 5000) ?? []
    // Two messages in the last five seconds: 0.4 per second.
    assert.deepEqual(temp?.topic, { messages: 2, retain: true, qos: 1, payloadBytes: 2, lastMs: 5000, ratePerSec: 0.4, preview: '22' })
    assert.equal(childrenOf(index, 'nowhere', 0), undefined)
  })

  it('a topic starting with \'/\' has an empty first level, apart from the root', () => {
    const index = new TopicIndex()
    index.record(message('/a', '1'))
    index.record(message('a', '2'))
    assert.deepEqual(childrenOf(index, undefined, 0)?.map((row) => [row.name, row.path, row.topics]), [['', '', 1], ['a', 'a', 1]])
    assert.deepEqual(childrenOf(index, '', 0)?.map((row) => [row.path, row.topic?.preview]), [['/a', '1']])
  })

  it('a cleared retained message (empty, retained) takes the topic out, and levels left empty with it', () => {
    const index = new TopicIndex()
    index.record(message('a/b/c', 'x', true))
    index.record(message('a/d', 'y', true))
    index.record(message('a/b/c', '', true))
    assert.equal(index.topicCount, 1)
    assert.deepEqual(childrenOf(index, 'a', 0)?.map((row) => [row.path, row.topics, row.messages]), [['a/d', 1, 1]])
    assert.equal(index.levelAt('a/b'), undefined)
    // An empty message that is not retained is an ordinary message.
    index.record(message('a/d', ''))
    assert.equal(index.find('a/d')?.messages, 2)
  })

  it('at the topic cap a new topic is counted as not indexed and leaves no level behind; known topics still update', () => {
    const index = new TopicIndex({ ...INDEX_DEFAULTS, maxTopics: 3 })
    for (let i = 0; i < 5; i++) index.record(message(`t/${i}`, String(i)))
    index.record(message('other/deep/topic', 'x'))
    index.record(message('t/0', 'again'))
    assert.equal(index.topicCount, 3)
    assert.equal(index.topicsNotIndexed, 3)
    assert.equal(index.levelAt('other'), undefined)
    assert.equal(index.find('t/0')?.payload?.toString(), 'again')
  })

  it('keeps at most the per-topic payload bytes; past the total the least recently updated topics lose their payload', () => {
    const index = new TopicIndex({ ...INDEX_DEFAULTS, maxPayloadBytesPerTopic: 4, maxPayloadBytesTotal: 10 })
    index.record(message('a', '0123456789'))
    const a = detailsOf(index, 'a', 0)
    assert.equal(Buffer.from(a?.payloadBase64 ?? '', 'base64').toString(), '0123')
    assert.equal(a?.payloadBytes, 10)
    assert.equal(a?.truncated, true)
    index.record(message('b', 'bbbb'))
    index.record(message('a', 'aaaa'))
    // 12 bytes would be over 10: b, updated longest ago, gives its payload up.
    index.record(message('c', 'cccc'))
    assert.equal(index.payloadBytesKept, 8)
    assert.equal(index.find('b')?.payload, undefined)
    assert.equal(detailsOf(index, 'b', 0)?.truncated, true)
    assert.equal(index.find('a')?.payload?.toString(), 'aaaa')
    assert.equal(index.find('c')?.payload?.toString(), 'cccc')
    index.record(message('c', '', true))
    assert.equal(index.payloadBytesKept, 4)
  })

  it('the payload is a copy: changing the message\'s buffer later does not change the index', () => {
    const index = new TopicIndex()
    const shared = Buffer.from('stable')
    index.record(message('copy', shared))
    shared.write('XXXXXX')
    assert.equal(index.find('copy')?.payload?.toString(), 'stable')
  })

  it('messages per second from a stepped clock: the last five seconds, fading as they pass', () => {
    let clock = 1_000_000
    const index = new TopicIndex(INDEX_DEFAULTS, () => clock)
    for (let i = 0; i < 10; i++) { index.record(message('s', String(i))); clock += 500 }
    // 10 messages in the window that began at 1,000,000, read at 1,005,000: all of that window counts.
    assert.equal(index.find('s')?.rate.perSecond(clock), 2)
    clock += 2500
    assert.equal(index.find('s')?.rate.perSecond(clock), 1)
    clock += 10_000
    assert.equal(index.find('s')?.rate.perSecond(clock), 0)
  })

  it('keeps the last N values with their times for the history, while a view is open', () => {
    let clock = 0
    const index = new TopicIndex({ ...INDEX_DEFAULTS, historyLength: 3 }, () => clock)
    index.record(message('h', 'before any view'))
    assert.deepEqual(detailsOf(index, 'h', clock)?.history, [])
    index.trackChanges = true
    for (let i = 1; i <= 5; i++) { clock = i * 1000; index.record(message('h', String(i * 10))) }
    assert.deepEqual(detailsOf(index, 'h', clock)?.history, [{ at: 3000, text: '30' }, { at: 4000, text: '40' }, { at: 5000, text: '50' }])
  })

  it('search by text (case-insensitive) or by MQTT filter, with a limit; a malformed filter is an error', () => {
    const index = new TopicIndex()
    for (const topic of ['zigbee2mqtt/lamp/availability', 'zigbee2mqtt/plug/availability', 'zigbee2mqtt/plug', 'tasmota/Plug/state']) index.record(message(topic, '1'))
    const byFilter = search(index, 'zigbee2mqtt/+/availability', 10, 0)
    assert.deepEqual('hits' in byFilter ? byFilter.hits.map((hit) => hit.path) : byFilter, ['zigbee2mqtt/lamp/availability', 'zigbee2mqtt/plug/availability'])
    const byText = search(index, 'plug', 2, 0)
    assert.deepEqual(byText, { hits: [(search(index, 'tasmota/Plug/state', 1, 0) as { hits: unknown[] }).hits[0], (search(index, 'zigbee2mqtt/plug', 1, 0) as { hits: unknown[] }).hits[0]], more: true })
    assert.deepEqual(search(index, 'a/#/b', 10, 0), { error: 'Invalid filter "a/#/b": uses \'#\' other than as the whole last level' })
  })

  it('collects changed topics only while tracking is on, each once per batch', () => {
    const index = new TopicIndex()
    index.record(message('x', '1'))
    index.trackChanges = true
    index.record(message('x', '2'))
    index.record(message('x', '3'))
    index.record(message('y', '1'))
    assert.deepEqual(index.takeChanged().map((entry) => entry.topic), ['x', 'y'])
    assert.deepEqual(index.takeChanged(), [])
  })
})
