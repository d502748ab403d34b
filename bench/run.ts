// npm run bench: Roost, Aedes and Mosquitto side by side, each in its own process on its own
// loopback port, driven by one load generator process. Prints the Markdown tables and writes them
// with an SVG chart of Roost's ratios to bench/results/.
//
// BENCH_QUICK=1          a ~20 s smoke run (short windows, fewer topics and clients)
// BENCH_BROKERS=a,b      only these brokers (roost, aedes, mosquitto)
// BENCH_SCENARIOS=a,b    only these scenarios (fanIn, fanOut, qos1, qos2, retained, latency, connections,
//                        tlsHandshakes, tlsQos0, tlsQos1, wsConnections, wsQos0, wsQos1, nodeRed, bridge, durable, cluster)
// BENCH_RESULTS_DIR=dir  write the results there instead of bench/results/
// BENCH_LATENCY_SEC=n    length of the latency scenario
// BENCH_CONNECTIONS=n    clients in the connections scenario (default 50,000, the most the
//                        open-file limit allows when that is lower; quick 500)
// BENCH_ROUNDS=n         rounds over the scenarios (default 2, quick 1); each figure is the best
//                        round (least broker CPU per message; for latency, lowest p99), so a
//                        burst of other work on the machine does not decide a ratio
import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { BROKER_NAMES, type BrokerName, describeBroker, startBroker, unavailable } from './brokers'
import type { ScenarioResult } from './generator/measure'
import { isTlsScenario, isWebSocketScenario, type Job, type ScenarioName, type Timing } from './generator/scenarios'
import { markdown, type ReportInput, readmeSummary, type Results, svgChart } from './report'
import { type BridgeBenchResult, measureBridges } from './bridge-throughput'
import type { NodeRedResult } from './nodes-throughput'
import { NODE_RED_SCENARIO, scenarioRows } from './scenarios'
import { DURABLE_SCENARIO, durableSizes, measureDurable } from './durable'
import { clusterUnavailable, describeClusterRun, measureCluster } from './cluster-throughput'

const quick = process.env.BENCH_QUICK === '1'

function timing (): Timing {
  const base: Timing = quick
    ? { warmupMs: 300, measureMs: 700, latencyRate: 5000, latencyMs: 1000, retainedTopics: 1000, retainedSubscribers: 20, connections: 500 }
    : { warmupMs: 700, measureMs: 2500, latencyRate: 5000, latencyMs: 10_000, retainedTopics: 10_000, retainedSubscribers: 20, connections: 50_000 }
  const latencySec = Number(process.env.BENCH_LATENCY_SEC)
  if (latencySec > 0) base.latencyMs = latencySec * 1000
  const connections = Number(process.env.BENCH_CONNECTIONS)
  if (connections > 0) base.connections = connections
  return base
}

/** The open-file limit this process (and so the generator and the brokers) runs under. */
function openFileLimit (): number {
  const out = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim()
  return out === 'unlimited' ? Infinity : Number(out) || 1024
}

function machine (): string {
  const cpus = os.cpus()
  const date = new Date().toISOString().replace('T', ' ').slice(0, 16)
  return `${date} UTC · ${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'} · ${Math.round(os.totalmem() / 2 ** 30)} GB · ` +
    `${os.type()} ${os.release()} · Node.js ${process.version}${quick ? ' · quick run (BENCH_QUICK=1)' : ''}`
}

/** Messages per path in the Node-RED scenario. */
const NODE_RED_MESSAGES = quick ? 20_000 : 200_000

/**
 * The Node-RED scenario, in a process of its own (bench/nodes-throughput.ts: a Node-RED runtime
 * loading the built roost.js). Resolves with its result, or an error's message.
 */
function measureNodeRed (): Promise<NodeRedResult | string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'nodes-throughput.ts'), String(NODE_RED_MESSAGES), '--json'],
      { cwd: path.join(__dirname, '..'), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4096) })
    const timer = setTimeout(() => child.kill('SIGKILL'), JOB_TIMEOUT_MS)
    child.on('close', (code) => {
      clearTimeout(timer)
      const line = stdout.split('\n').find((text) => text.startsWith('{"messages"'))
      if (code === 0 && line !== undefined) resolve(JSON.parse(line) as NodeRedResult)
      else resolve(`Node-RED run exited with ${String(code)}: ${(stderr.trim().split('\n').pop() ?? '').slice(0, 300)}`)
    })
  })
}

/** Builds roost.js (the Node-RED nodes) so the Node-RED scenario loads the current source. */
function buildPackage (): string | undefined {
  const built = spawnSync(process.execPath, [path.join(__dirname, '..', 'scripts/build.mjs')], { encoding: 'utf8' })
  return built.status === 0 ? undefined : `build failed: ${built.stderr.trim().split('\n')[0] ?? ''}`
}

/** Messages per bridging broker in the bridge scenario. */
const BRIDGE_MESSAGES = quick ? 20_000 : 100_000

/** Longest a scenario may take before the broker is deemed hung and the generator replaced. */
const JOB_TIMEOUT_MS = 120_000

class Generator {
  private child = Generator.start()

  private static start (): ChildProcess {
    return fork(path.join(__dirname, 'generator/main.ts'), [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' })
  }

  run (job: Job): Promise<ScenarioResult> {
    const child = this.child
    return new Promise<ScenarioResult>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer)
        child.off('exit', onExit)
        child.off('message', onMessage)
      }
      const onExit = (): void => {
        settle()
        reject(new Error('load generator exited'))
      }
      const onMessage = (reply: { ok: true, result: ScenarioResult } | { ok: false, error: string }): void => {
        settle()
        if (reply.ok) resolve(reply.result)
        else reject(new Error(reply.error))
      }
      const timer = setTimeout(() => {
        settle()
        // A generator stuck on a hung broker cannot be trusted with the next job: start afresh.
        child.kill()
        this.child = Generator.start()
        reject(new Error(`no result within ${JOB_TIMEOUT_MS / 1000} s`))
      }, JOB_TIMEOUT_MS)
      child.once('exit', onExit)
      child.once('message', onMessage)
      child.send(job)
    })
  }

  close (): void { this.child.disconnect() }
}

/** Runs one scenario on a fresh broker process; an error comes back as its message. */
async function measure (generator: Generator, name: BrokerName, scenario: ScenarioName, plan: Timing): Promise<ScenarioResult | string> {
  const secure = isTlsScenario(scenario)
  const webSocket = isWebSocketScenario(scenario)
  const broker = await startBroker(name, { secure, webSocket })
  try {
    return await generator.run({ scenario, port: broker.port, pid: broker.pid, secure, webSocket, timing: plan })
  } catch (error) {
    return (error as Error).message
  } finally {
    await broker.stop()
  }
}

function better (candidate: ScenarioResult, incumbent: ScenarioResult): boolean {
  if (candidate.latency !== undefined && incumbent.latency !== undefined) return candidate.latency.p99Ms < incumbent.latency.p99Ms
  return candidate.cpuMicrosPerUnit < incumbent.cpuMicrosPerUnit
}

async function main (): Promise<void> {
  const startedMs = Date.now()
  const loadAtStart = os.loadavg()[0] ?? 0
  const plan = timing()
  const notes: string[] = [
    'Every broker keeps its own default window of QoS 1/2 messages in flight to a subscriber (Roost 20, Mosquitto 20, Aedes unbounded); ' +
    'queue limits are raised (max_queued_messages 100000) so the bounded flows never meet them; no broker logs.'
  ]
  const limit = openFileLimit()
  if (limit < plan.connections + 256) {
    notes.push(`The open-file limit (ulimit -n) here is ${limit} per process, so the connections scenario holds ${(limit - 256).toLocaleString('en-US')} ` +
      `clients at once (the most the limit allows, with room for the broker's own files) instead of ${plan.connections.toLocaleString('en-US')}.`)
    plan.connections = Math.max(100, limit - 256)
  }
  const wanted = (process.env.BENCH_BROKERS ?? BROKER_NAMES.join(',')).split(',').map((name) => name.trim()) as BrokerName[]
  const brokers: BrokerName[] = []
  const skipped: ReportInput['skipped'] = []
  for (const name of BROKER_NAMES) {
    if (!wanted.includes(name)) continue
    const why = unavailable(name)
    if (why === undefined) brokers.push(name)
    else {
      skipped.push({ name, why })
      console.log(`${name}: not measured, ${why}`)
    }
  }
  const only = process.env.BENCH_SCENARIOS?.split(',').map((id) => id.trim())
  const rows = scenarioRows(plan.retainedTopics, plan.retainedSubscribers, plan.latencyRate, plan.connections)
  const results: Results = new Map()
  const runNodeRed = brokers.includes('roost') && (only === undefined || only.includes(NODE_RED_SCENARIO))
  let nodeRed: NodeRedResult | string | undefined = runNodeRed ? buildPackage() : undefined
  // The bridge scenario needs both: Roost and Mosquitto each bridge to a remote Mosquitto.
  const runBridge = brokers.includes('roost') && brokers.includes('mosquitto') && (only === undefined || only.includes('bridge'))
  let bridge: BridgeBenchResult | string | undefined
  const generator = new Generator()
  let durable: string | undefined
  try {
    const rounds = Number(process.env.BENCH_ROUNDS) > 0 ? Number(process.env.BENCH_ROUNDS) : quick ? 1 : 2
    for (let round = 1; round <= rounds; round++) {
      for (const row of rows) {
        if (only !== undefined && !only.includes(row.id)) continue
        let byBroker = results.get(row.id)
        if (byBroker === undefined) results.set(row.id, byBroker = {})
        for (const name of brokers) {
          const outcome = await measure(generator, name, row.id as ScenarioName, plan)
          const label = `${row.id.padEnd(12)} ${name.padEnd(10)} round ${round}`
          if (typeof outcome === 'string') {
            console.log(`${label} failed: ${outcome}`)
            if (byBroker[name] === undefined) byBroker[name] = outcome
            continue
          }
          console.log(`${label} ${Math.round(outcome.rate).toString().padStart(9)}/s  ${outcome.cpuMicrosPerUnit.toFixed(2).padStart(7)} µs  ` +
            `${(outcome.peakRssBytes / 1048576).toFixed(1).padStart(6)} MB  broker ${Math.round(outcome.brokerCpuPercent)}% generator ${Math.round(outcome.generatorCpuPercent)}% of a core`)
          const previous = byBroker[name]
          if (typeof previous !== 'object' || better(outcome, previous)) byBroker[name] = outcome
        }
      }
      if (runNodeRed && (nodeRed === undefined || typeof nodeRed === 'object')) {
        const outcome = await measureNodeRed()
        const label = `${NODE_RED_SCENARIO.padEnd(12)} ${'node-red'.padEnd(10)} round ${round}`
        if (typeof outcome === 'string') {
          console.log(`${label} failed: ${outcome}`)
          nodeRed ??= outcome
        } else {
          console.log(`${label} roost out → roost in ${Math.round(outcome.roost?.rate ?? 0)}/s ${(outcome.roost?.cpuMicrosPerMessage ?? 0).toFixed(2)} µs, ` +
            `core nodes via Roost ${Math.round(outcome.core?.rate ?? 0)}/s ${(outcome.core?.cpuMicrosPerMessage ?? 0).toFixed(2)} µs, ` +
            `via Aedes ${Math.round(outcome.aedes?.rate ?? 0)}/s ${(outcome.aedes?.cpuMicrosPerMessage ?? 0).toFixed(2)} µs, ` +
            `junction → junction ${Math.round(outcome.bare?.rate ?? 0)}/s ${(outcome.bare?.cpuMicrosPerMessage ?? 0).toFixed(2)} µs`)
          // Best round: least CPU per message on the roost path, as for the broker scenarios.
          if (typeof nodeRed !== 'object' || (outcome.roost?.cpuMicrosPerMessage ?? Infinity) < (nodeRed.roost?.cpuMicrosPerMessage ?? Infinity)) nodeRed = outcome
        }
      }
    }
    if (runBridge) {
      try {
        bridge = await measureBridges(BRIDGE_MESSAGES)
        for (const run of bridge.runs) {
          console.log(`${'bridge'.padEnd(12)} ${run.bridging.padEnd(10)} ${Math.round(run.rate).toString().padStart(9)}/s  ${run.bridgingCpuMicrosPerMessage.toFixed(2).padStart(7)} µs  ` +
            `remote ${run.remoteCpuMicrosPerMessage.toFixed(2)} µs  missing ${run.missing}`)
        }
      } catch (error) {
        bridge = (error as Error).message
        console.log(`bridge failed: ${bridge}`)
      }
    }
    // Two and three roost nodes on one nats-server beside one node alone; its lines go to the notes.
    if (brokers.includes('roost') && (only === undefined || only.includes('cluster'))) {
      const why = clusterUnavailable()
      try {
        const lines = why === undefined ? (await measureCluster(quick ? 20_000 : 200_000)).map(describeClusterRun) : [`cluster skipped: ${why}`]
        for (const line of lines) console.log(line)
        notes.push(...lines)
      } catch (error) {
        console.log(`cluster failed: ${(error as Error).message}`)
        notes.push(`cluster failed: ${(error as Error).message}`)
      }
    }
    if (rounds > 1) notes.push(`Each figure is the best of ${rounds} rounds (least broker CPU per message; latency: lowest p99).`)
    if (brokers.includes('roost') && (only === undefined || only.includes(DURABLE_SCENARIO))) {
      durable = await measureDurable(async (job) => await generator.run(job), plan, durableSizes(quick), rounds, (line) => console.log(line))
    }
  } finally {
    generator.close()
  }
  const title = `Roost bench, ${new Date().toISOString().slice(0, 10)}`
  notes.push(`Whole run: ${Math.round((Date.now() - startedMs) / 1000)} s. Versions: ${brokers.map(describeBroker).join(', ')}.`)
  notes.push(`Load average (1 min) ${loadAtStart.toFixed(1)} at the start and ${(os.loadavg()[0] ?? 0).toFixed(1)} at the end on ${os.cpus().length} cores: ` +
    'other work on the machine slows every broker, most visibly in rates and latency; CPU per message is the steadiest figure.')
  const input: ReportInput = { title, machine: machine(), brokers, skipped, rows, results, nodeRed, bridge, notes }
  const text = durable === undefined ? markdown(input) : `${markdown(input)}\n\n${durable}\n`
  console.log(`\n${text}`)
  const dir = process.env.BENCH_RESULTS_DIR ?? path.join(__dirname, 'results')
  mkdirSync(dir, { recursive: true })
  writeFileSync(path.join(dir, `${new Date().toISOString().slice(0, 10)}${quick ? '-quick' : ''}.md`), text)
  writeFileSync(path.join(dir, 'latest.md'), text)
  writeFileSync(path.join(dir, 'latest.svg'), svgChart(input))
  // A full run into bench/results/ also refreshes the README's summary.
  if (process.env.BENCH_RESULTS_DIR === undefined && process.env.BENCH_BROKERS === undefined && !quick && only === undefined) updateReadme(input)
}

const README_START = '<!-- bench:start -->'
const README_END = '<!-- bench:end -->'

/** Replaces the text between the bench markers in README.md with this run's summary. */
function updateReadme (input: ReportInput): void {
  const file = path.join(__dirname, '..', 'README.md')
  const text = readFileSync(file, 'utf8')
  const start = text.indexOf(README_START)
  const end = text.indexOf(README_END)
  if (start === -1 || end < start) return
  writeFileSync(file, `${text.slice(0, start + README_START.length)}\n${readmeSummary(input)}\n${text.slice(end)}`)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
