// MQTT topics and filters as NATS subjects (lib/cluster/subjects.ts): the cases are those of
// nats-server's own conversion tests (server/mqtt_test.go, TestMQTTTopicAndSubjectConversion and
// TestMQTTFilterConversion), so a Roost node and nats-server's MQTT listener agree on every subject.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { filterToSubjects, subjectToTopic, topicToSubject } from '../../lib/cluster/subjects'

const TOPICS: Array<[string, string]> = [
  ['foo', 'foo'],
  ['foo/bar', 'foo.bar'],
  ['foo/bar/baz', 'foo.bar.baz'],
  ['/', '/./'],
  ['//', '/././'],
  ['///', '/./././'],
  ['/foo', '/.foo'],
  ['//foo', '/./.foo'],
  ['///foo/', '/././.foo./'],
  ['///foo///', '/././.foo./././'],
  ['/foo/bar/', '/.foo.bar./'],
  ['bar/', 'bar./'],
  ['bar//', 'bar././'],
  ['foo//bar', 'foo./.bar'],
  ['foo///bar', 'foo././.bar'],
  // A '.' inside a level (nats-server 2.10 and later)
  ['.', '//'],
  ['..', '////'],
  ['./', '//./'],
  ['.//.', '//././/'],
  ['././.', '//.//.//'],
  ['.foo.', '//foo//'],
  ['foo../bar/.', 'foo////.bar.//'],
  ['//.foo.//', '/././/foo//././'],
  ['foo.bar/baz', 'foo//bar.baz'],
  // A leading '$' is left as it is
  ['$aws/things/x', '$aws.things.x'],
  ['$SYS/broker/uptime', '$SYS.broker.uptime']
]

test('an MQTT topic maps to the subject nats-server publishes it on, and back', () => {
  for (const [topic, subject] of TOPICS) {
    assert.equal(topicToSubject(topic), subject, `topic '${topic}'`)
    assert.equal(subjectToTopic(subject), topic, `subject '${subject}'`)
  }
})

test('a topic a NATS subject cannot carry has no subject: whitespace, DEL, a level that is a NATS wildcard', () => {
  for (const topic of ['foo bar', 'foo\tbar', 'a/b\nc', 'foo\x7fbar', 'a/*/b', '*', 'a/>', '>/a']) {
    assert.equal(topicToSubject(topic), undefined, JSON.stringify(topic))
  }
  // '*' and '>' inside a longer level are ordinary characters to NATS as to MQTT
  assert.equal(topicToSubject('foo*/bar>'), 'foo*.bar>')
})

test('a subject published by a plain NATS client reads as a topic', () => {
  assert.equal(subjectToTopic('orders.new'), 'orders/new')
  assert.equal(subjectToTopic('single'), 'single')
})

const FILTERS: Array<[string, string[]]> = [
  ['+', ['*']],
  ['/+', ['/.*']],
  ['+/', ['*./']],
  ['/+/', ['/.*./']],
  ['foo/+', ['foo.*']],
  ['foo/+/bar', ['foo.*.bar']],
  ['foo//+//bar', ['foo./.*./.bar']],
  ['foo.bar///+///baz', ['foo//bar././.*././.baz']],
  ['#', ['>']],
  // [MQTT-4.7.1-2] 'foo/#' matches 'foo' itself, which NATS's 'foo.>' does not: a second subject
  ['foo/#', ['foo.>', 'foo']],
  ['/#', ['/.>', '/']],
  ['/foo/#', ['/.foo.>', '/.foo']],
  ['foo//#', ['foo./.>', 'foo./']],
  ['foo/bar.baz/#', ['foo.bar//baz.>', 'foo.bar//baz']],
  ['sensors/room 1/#', []]
]

test('an MQTT filter maps to the subjects nats-server subscribes to', () => {
  for (const [filter, subjects] of FILTERS) assert.deepEqual(filterToSubjects(filter), subjects, `filter '${filter}'`)
})
