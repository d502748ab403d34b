// The types as a TypeScript user gets them: a small program using createBroker and createClient,
// compiled by tsc (the project's own, from node_modules) against the declarations in the packed
// package installed into a fresh directory. No skipLibCheck: the declarations and what they import
// from the package's dependencies must check too.
import { strict as assert } from 'node:assert'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { installIntoUserDir, packProject, run } from './packed'

const USER_PROGRAM = `import { createBroker, createClient, ReasonCode, type DeliveredMessage } from 'node-red-contrib-roost'
import { type BrokerOptions, type ClientOptionsInput, topicMatches } from 'node-red-contrib-roost/lib'

export async function echo (): Promise<number> {
  const options: Partial<BrokerOptions> = { listeners: [{ port: 0, host: '127.0.0.1' }], maxQueuedMessages: 100 }
  const broker = createBroker(options)
  await broker.listen()
  const seen: string[] = []
  const unsubscribe = broker.subscribe('sensors/+', 1, (message: DeliveredMessage) => { seen.push(message.payload.toString()) })
  broker.publish({ topic: 'sensors/kitchen', payload: '21.5', qos: 1, retain: false })
  const clientOptions: ClientOptionsInput = { host: '127.0.0.1', port: 1883, clientId: 'typed' }
  const client = createClient(clientOptions)
  client.on('error', (error: Error) => { seen.push(error.message) })
  unsubscribe()
  await broker.close()
  return topicMatches('sensors/+', 'sensors/kitchen') ? ReasonCode.Success : seen.length
}
`

describe('the packed declarations compile a TypeScript user of createBroker and createClient', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-types-'))
  const project = path.join(dir, 'user')
  const tsc = require.resolve('typescript/bin/tsc')

  before(async () => {
    await installIntoUserDir(project, await packProject(dir))
    writeFileSync(path.join(project, 'user.ts'), USER_PROGRAM)
  })

  after(() => { rmSync(dir, { recursive: true, force: true }) })

  it('with module nodenext (package "exports"), strict, without skipLibCheck; a wrong call is an error there and only it', async () => {
    writeFileSync(path.join(project, 'wrong.ts'), "import { createBroker } from 'node-red-contrib-roost'\ncreateBroker({ listeners: 'everywhere' })\n")
    const output = await compile({ module: 'nodenext', moduleResolution: 'nodenext' }, ['user.ts', 'wrong.ts'])
    const errors = output.split('\n').filter((line) => /error TS\d+/.test(line))
    assert.equal(errors.length, 1, output)
    assert.match(errors[0] ?? '', /^wrong\.ts\(2,\d+\): error TS2322/)
  })

  it('with module commonjs and moduleResolution node10 (typesVersions for /lib), strict, without skipLibCheck', async () => {
    assert.equal(await compile({ module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true }, ['user.ts']), '')
  })

  /** tsc's diagnostics for the files under these module settings ('' when they compile). */
  async function compile (settings: Record<string, unknown>, files: string[]): Promise<string> {
    writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, ...settings },
      files
    }))
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], project).catch((error: Error) => error)
    return result instanceof Error ? result.message : result.stdout
  }
})
