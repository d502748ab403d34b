// broker.close(): ends every connection, frees every port and timer, is safe to call twice, and
// leaves nothing that keeps the process alive.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { test } from 'node:test'
import { createBroker } from '../../lib'
import { startBroker } from '../helpers/broker'
import { connectPacket, publishPacket } from '../helpers/raw-client'

/** Connects once; resolves with the error code, or 'connected'. */
function tryConnect (port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' })
    socket.once('connect', () => { socket.destroy(); resolve('connected') })
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
  })
}

test('close() ends connected, connecting and silent sockets alike, and frees the port', async (t) => {
  const h = await startBroker(t, {}, { auth: { authenticate: (request) => request.clientId === 'stuck' ? new Promise<boolean>(() => {}) : true } })
  const connected = await h.client({ clientId: 'a', keepalive: 30 })
  await connected.subscribe('x', 1)
  const silent = await h.open()
  const stuck = await h.open()
  stuck.send(connectPacket({ clientId: 'stuck' }))
  await connected.expectNothingPending()
  await h.broker.close()
  await connected.expectClosed()
  await silent.expectClosed()
  await stuck.expectClosed()
  assert.equal(h.broker.clientCount, 0)
  assert.equal(await tryConnect(h.port), 'ECONNREFUSED')
})

test('close() is safe to call twice, concurrently or after it finished', async () => {
  const broker = createBroker({ listeners: [{ port: 0, host: '127.0.0.1' }] })
  const [address] = await broker.listen()
  const first = broker.close()
  const second = broker.close()
  await Promise.all([first, second])
  await broker.close()
  assert.equal(await tryConnect(address?.port ?? 0), 'ECONNREFUSED')
  await assert.rejects(broker.listen(), /closed/)
})

test('close() on a broker that never listened resolves', async () => {
  const broker = createBroker()
  broker.publish({ topic: 'x', payload: 'y', retain: true })
  await broker.close()
  assert.equal(broker.addresses.length, 0)
})

test('the port can be bound again right after close()', async (t) => {
  const first = createBroker({ listeners: [{ port: 0, host: '127.0.0.1' }] })
  const [address] = await first.listen()
  const port = address?.port ?? 0
  const h = await startBroker(t)
  const client = await h.client({ clientId: 'other' })
  client.send(publishPacket('x', 'y', 0))
  await first.close()
  const second = createBroker({ listeners: [{ port, host: '127.0.0.1' }] })
  t.after(() => second.close())
  const [again] = await second.listen()
  assert.equal(again?.port, port)
})

test('after close() the process exits on its own: no timer, socket or server left', async () => {
  const fixture = path.join(__dirname, 'fixtures', 'close-and-exit.ts')
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  // A failure guard, not a timing: a process that does not exit in this long is hung.
  const guard = setTimeout(() => child.kill('SIGKILL'), 20_000)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])))
  clearTimeout(guard)
  assert.equal(signal, null, `the process had to be killed; it printed:\n${stdout}${stderr}`)
  assert.equal(code, 0, stderr)
  assert.match(stdout, /^closed\n/)
})

test('listen() that cannot bind every listener rejects and leaves none bound', async (t) => {
  const holder = createBroker({ listeners: [{ port: 0, host: '127.0.0.1' }] })
  const [held] = await holder.listen()
  t.after(() => holder.close())
  const broker = createBroker({ listeners: [{ port: 0, host: '127.0.0.1' }, { port: held?.port ?? 0, host: '127.0.0.1' }] })
  const bound: number[] = []
  broker.on('listening', ({ port }) => bound.push(port))
  await assert.rejects(broker.listen(), /EADDRINUSE/)
  assert.equal(bound.length, 1, 'the first listener was bound before the second failed')
  assert.equal(await tryConnect(bound[0] ?? 0), 'ECONNREFUSED')
  assert.deepEqual(broker.addresses, [])
  await broker.close()
  // The broker holding the port is untouched.
  assert.equal(await tryConnect(held?.port ?? 0), 'connected')
})
