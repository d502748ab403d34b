// The NATS subscriptions a node holds for its subscribers' filters (lib/cluster/interest.ts):
// counted per subject, so filters that share one open it once and close it with the last of them;
// a shared subscription is a queue of its own per share name and filter.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { queueName, type SubjectEntry, SubjectInterest } from '../../lib/cluster/interest'

function recorder (): { events: string[], interest: SubjectInterest } {
  const events: string[] = []
  const describe = (entry: SubjectEntry): string => entry.share === undefined ? entry.subject : `${entry.subject} queue ${entry.share.group}:${entry.share.levelsFilter}`
  const interest = new SubjectInterest({
    open: (entry) => { events.push(`open ${describe(entry)}`) },
    close: (entry) => { events.push(`close ${describe(entry)}`) }
  })
  return { events, interest }
}

test('a subject opens with its first filter and closes with its last, whichever filters share it', () => {
  const { events, interest } = recorder()
  interest.filterAdded('home/#')
  interest.filterAdded('home')
  interest.filterAdded('home/#')
  assert.deepEqual(events, ['open home.>', 'open home'])
  interest.filterRemoved('home/#')
  interest.filterRemoved('home')
  assert.deepEqual(events, ['open home.>', 'open home'])
  interest.filterRemoved('home/#')
  assert.deepEqual(events, ['open home.>', 'open home', 'close home.>', 'close home'])
  // Removing what was never added changes nothing.
  interest.filterRemoved('home/#')
  assert.equal(events.length, 4)
  assert.deepEqual([...interest.entries()], [])
})

test('$SYS stays per node, and a filter no subject can carry has no NATS subscription', () => {
  const { events, interest } = recorder()
  for (const filter of ['$SYS/#', '$SYS/broker/uptime', '$share/g/$SYS/#', 'room 1/#']) interest.filterAdded(filter)
  assert.deepEqual(events, [])
})

test('each shared subscription is its own queue: by share name and by filter', () => {
  const { events, interest } = recorder()
  interest.filterAdded('$share/g/a/#')
  interest.filterAdded('$share/g/a')
  interest.filterAdded('$share/h/a')
  interest.filterAdded('a')
  assert.deepEqual(events, ['open a.> queue g:a/#', 'open a queue g:a/#', 'open a queue g:a', 'open a queue h:a', 'open a'])
  assert.notEqual(queueName('g', 'a/#'), queueName('g', 'a'))
  assert.notEqual(queueName('g', 'a'), queueName('h', 'a'))
  // The same on every node, and a name NATS takes whatever the share name holds
  assert.equal(queueName('workers of floor 2', 'a/+'), queueName('workers of floor 2', 'a/+'))
  assert.match(queueName('workers of floor 2', 'a/+'), /^share_[0-9a-f]{24}$/)
})
