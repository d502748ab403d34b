// The packed package in a fresh Node-RED user directory, installed with `npm install <tarball>`
// as the palette manager installs a module, under the oldest Node-RED the package claims
// (package.json "node-red".version) and under Node-RED 4 (the project's devDependency): the
// nodes load without a warning, every example is offered under Import ▸ Examples, and a deployed
// flow carries messages between a real MQTT client (MQTT.js) and the embedded broker.
import { strict as assert } from 'node:assert'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import mqtt from 'mqtt'
import { freePort, ROOT } from '../cli/helpers'
import { type NodeSet, NodeRedProcess } from './node-red-process'
import { cachedNodeRed, installIntoUserDir, packProject } from './packed'

const MODULE = 'node-red-contrib-roost'
const NODE_TYPES = ['roost-broker', 'roost in', 'roost out', 'roost sys', 'roost presence']
/** The oldest Node-RED named in package.json ("node-red".version), at its last patch release. */
const OLDEST_NODE_RED = '3.1.15'
/** How long the flow may take to bring a message to the MQTT.js client before the test fails instead of hanging. */
const MESSAGE_WAIT_MS = 20_000

const packageJson = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { 'node-red': { version: string } }
const exampleNames = readdirSync(path.join(ROOT, 'examples')).filter((name) => name.endsWith('.json')).map((name) => name.slice(0, -'.json'.length)).sort()

const workDir = mkdtempSync(path.join(os.tmpdir(), 'roost-package-'))
let tarball: Promise<string> | undefined
/** Packed once for both Node-RED versions. */
async function packedOnce (): Promise<string> {
  tarball ??= packProject(workDir)
  return await tarball
}
after(() => { rmSync(workDir, { recursive: true, force: true }) })

it('claims the oldest Node-RED this test installs', () => {
  assert.equal(packageJson['node-red'].version, `>=${OLDEST_NODE_RED.split('.').slice(0, 2).join('.')}.0`)
})

const runtimes: Array<{ label: string, redJs: () => Promise<string> }> = [
  { label: `Node-RED ${OLDEST_NODE_RED} (oldest claimed)`, redJs: async () => await cachedNodeRed(OLDEST_NODE_RED) },
  { label: 'Node-RED 4 (devDependency)', redJs: async () => path.join(path.dirname(require.resolve('node-red/package.json')), 'red.js') }
]

for (const runtime of runtimes) {
  describe(`the packed package installed into a fresh user directory of ${runtime.label}`, () => {
    let red: NodeRedProcess | undefined
    const userDir = path.join(workDir, runtime.label.replace(/\W+/g, '-'))

    before(async () => {
      const [redJs, packed] = await Promise.all([runtime.redJs(), packedOnce()])
      const started = Date.now()
      await installIntoUserDir(userDir, packed)
      // A figure for the release notes, not a check: machines differ.
      console.log(`# npm install of the tarball into a fresh user dir: ${Date.now() - started} ms`)
      red = await NodeRedProcess.start(redJs, userDir, await freePort())
    })

    after(async () => { await red?.stop() })

    it('registers all five node types from the installed module, with no error and no warning in the log', async () => {
      assert.ok(red)
      const sets = (await red.getJson<NodeSet[]>('/nodes')).filter((set) => set.module === MODULE)
      assert.deepEqual(sets.flatMap((set) => set.types).sort(), [...NODE_TYPES].sort())
      for (const set of sets) {
        assert.equal(set.err, undefined, `${set.id}: ${set.err ?? ''}`)
        assert.equal(set.enabled, true, set.id)
      }
      assert.deepEqual(red.problems(), [])
    })

    it('offers every file of examples/ under Import ▸ Examples, each as it is in the package', async () => {
      assert.ok(red)
      const modules = await red.getJson<string[]>('/library/examples/flows/')
      assert.ok(modules.includes(MODULE), `examples of ${modules.join(', ')}`)
      const listed = await red.getJson<Array<{ fn: string }>>(`/library/examples/flows/${MODULE}`)
      assert.deepEqual(listed.map((entry) => entry.fn).sort(), exampleNames)
      for (const name of exampleNames) {
        const served = await red.getText(`/library/examples/flows/${MODULE}/${encodeURIComponent(name)}`)
        assert.deepEqual(JSON.parse(served), JSON.parse(readFileSync(path.join(ROOT, 'examples', `${name}.json`), 'utf8')), name)
      }
    })

    it('deploys a flow with every node type that passes messages both ways with an MQTT.js client', async () => {
      assert.ok(red)
      const mqttPort = await freePort()
      await red.deploy(packageFlow(mqttPort))
      // The flows have started before the broker's listener is bound: its log line says when.
      await red.waitForLog((log) => log.includes(`listen socket on port ${mqttPort}`), `the broker listening on ${mqttPort}`)
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: 'package-check', reconnectPeriod: 0 })
      try {
        const received = new Map<string, string>()
        let changed: () => void = () => {}
        client.on('message', (topic, payload) => { received.set(topic, payload.toString()); changed() })
        await client.subscribeAsync('pkg/#', { qos: 1 })
        await client.publishAsync('pkg/in', 'ping', { qos: 1 })
        const wanted = ['pkg/ready', 'pkg/presence', 'pkg/sys', 'pkg/out']
        const deadline = Date.now() + MESSAGE_WAIT_MS
        while (!wanted.every((topic) => received.has(topic)) && Date.now() < deadline) {
          await new Promise<void>((resolve) => { changed = resolve; setTimeout(resolve, 1000) })
        }
        assert.deepEqual(wanted.filter((topic) => !received.has(topic)), [], `received ${JSON.stringify([...received])}`)
        // inject → roost out (retained); roost in → change → roost out; presence and sys of the embedded broker.
        assert.equal(received.get('pkg/ready'), 'ready')
        assert.equal(received.get('pkg/out'), 'ping')
        assert.equal(received.get('pkg/presence'), 'online')
        assert.equal(typeof (JSON.parse(received.get('pkg/sys') as string) as { clients?: unknown }).clients, 'object')
      } finally {
        await client.endAsync()
      }
      assert.deepEqual(red.problems(), [])
    })
  })
}

/** An embedded broker with one node of every Roost type wired to core nodes. */
function packageFlow (mqttPort: number): object[] {
  const z = 'pkg-tab'
  const broker = 'pkg-broker'
  return [
    { id: z, type: 'tab', label: 'package check' },
    { id: broker, type: 'roost-broker', name: 'package check', mode: 'embedded', port: String(mqttPort), bindAddress: '127.0.0.1', allowAnonymous: true, sysInterval: '10', persistence: false },
    { id: 'pkg-inject', type: 'inject', z, props: [{ p: 'payload' }], once: true, onceDelay: '0.1', repeat: '', payload: 'ready', payloadType: 'str', wires: [['pkg-out-ready', 'pkg-sys']] },
    { id: 'pkg-out-ready', type: 'roost out', z, broker, topic: 'pkg/ready', qos: '1', retain: 'true', wires: [] },
    { id: 'pkg-sys', type: 'roost sys', z, broker, interval: '10', wires: [['pkg-out-sys']] },
    { id: 'pkg-out-sys', type: 'roost out', z, broker, topic: 'pkg/sys', qos: '1', retain: 'true', wires: [] },
    { id: 'pkg-presence', type: 'roost presence', z, broker, events: true, pattern: 'none', topic: '', online: 'online', offline: 'offline', wires: [['pkg-out-presence']] },
    { id: 'pkg-out-presence', type: 'roost out', z, broker, topic: 'pkg/presence', qos: '1', retain: 'true', wires: [] },
    { id: 'pkg-in', type: 'roost in', z, broker, topic: 'pkg/in', qos: '1', datatype: 'utf8', inputs: 0, wires: [['pkg-change']] },
    { id: 'pkg-change', type: 'change', z, rules: [{ t: 'delete', p: 'topic', pt: 'msg' }], wires: [['pkg-out']] },
    { id: 'pkg-out', type: 'roost out', z, broker, topic: 'pkg/out', qos: '1', retain: 'false', wires: [] }
  ]
}
