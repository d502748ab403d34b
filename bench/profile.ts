// Profiles Roost under one bench scenario: starts the broker with `node --cpu-prof`, drives it
// with the bench's generator, and prints the functions with the most self time.
//
//   node --import tsx bench/profile.ts fanIn [fanOut qos1 ...]
//   PROFILE_CONF='persistence true;persistence_location /tmp/p' node --import tsx bench/profile.ts qos1Durable
//
// PROFILE_CONF: mosquitto.conf lines (separated by ';') added to the bench's own.
// The .cpuprofile files stay in dist/bench/profiles/ for a closer look (Chrome DevTools).
import { fork } from 'node:child_process'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { startBroker } from './brokers'
import type { ScenarioResult } from './generator/measure'
import { isTlsScenario, isWebSocketScenario, type Job, type ScenarioName, type Timing } from './generator/scenarios'

interface ProfileNode { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, hitCount?: number }
interface Profile { nodes: ProfileNode[], samples: number[], timeDeltas: number[] }

const timing: Timing = { warmupMs: 500, measureMs: 4000, latencyRate: 5000, latencyMs: 5000, retainedTopics: 10_000, retainedSubscribers: 20, connections: 10_000 }

function topFunctions (file: string, limit = 25): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const selfMicros = new Map<string, number>()
  let total = 0
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)
    const delta = profile.timeDeltas[i] ?? 0
    if (node === undefined) return
    const { functionName, url, lineNumber } = node.callFrame
    const key = `${functionName || '(anonymous)'} ${url === '' ? '' : `${path.basename(url)}:${lineNumber + 1}`}`
    selfMicros.set(key, (selfMicros.get(key) ?? 0) + delta)
    total += delta
  })
  return [...selfMicros.entries()].sort((a, b) => b[1] - a[1]).slice(0, limit)
    .map(([key, micros]) => `${(100 * micros / total).toFixed(1).padStart(5)}%  ${key}`).join('\n')
}

async function main (): Promise<void> {
  const scenarios = process.argv.slice(2) as ScenarioName[]
  const dir = path.join(__dirname, '..', 'dist/bench/profiles')
  const generator = fork(path.join(__dirname, 'generator/main.ts'), [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' })
  try {
    for (const scenario of scenarios) {
      rmSync(path.join(dir, scenario), { recursive: true, force: true })
      const secure = isTlsScenario(scenario)
      const webSocket = isWebSocketScenario(scenario)
      const extraConf = (process.env.PROFILE_CONF ?? '').split(';').map((line) => line.trim()).filter((line) => line !== '')
      const broker = await startBroker('roost', { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${path.join(dir, scenario)}`], secure, webSocket, extraConf })
      const job: Job = { scenario, port: broker.port, pid: broker.pid, secure, webSocket, timing }
      const result = await new Promise<ScenarioResult>((resolve, reject) => {
        generator.once('message', (reply: { ok: boolean, result?: ScenarioResult, error?: string }) => {
          if (reply.ok) resolve(reply.result as ScenarioResult)
          else reject(new Error(reply.error))
        })
        generator.send(job)
      })
      await broker.stop()
      const [file] = readdirSync(path.join(dir, scenario))
      console.log(`\n== ${scenario}: ${Math.round(result.rate)}/s, ${result.cpuMicrosPerUnit.toFixed(2)} µs per unit (profiler on)`)
      if (file !== undefined) console.log(topFunctions(path.join(dir, scenario, file)))
    }
  } finally {
    generator.disconnect()
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
