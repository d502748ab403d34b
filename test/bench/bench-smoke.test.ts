// The bench runs end to end: a quick run (BENCH_QUICK=1) against every broker available here
// writes a table with a row per scenario and a number in every measured cell, and the chart.
// Timings are never asserted: only that the bench measures and reports.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'

const ROOT = path.resolve(__dirname, '../..')
const SCENARIOS = ['fan-in QoS 0', 'fan-out QoS 0', 'QoS 1 end to end', 'QoS 2 end to end', 'retained storm', 'latency', 'connections', 'TLS handshakes', 'TLS fan-in QoS 0', 'TLS QoS 1 end to end',
  'WebSockets connections', 'WebSockets fan-in QoS 0', 'WebSockets QoS 1 end to end']
const MAIN_TABLES = ['Broker CPU per message', 'Throughput', 'Broker peak memory']
const SIGNED_NUMBER = /^-?\d[\d,]*(\.\d+)?$/
const NUMBER = /^\d[\d,]*(\.\d+)?×?$/

function runBench (resultsDir: string): Promise<{ code: number | null, output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts'], {
      cwd: ROOT,
      env: { ...process.env, BENCH_QUICK: '1', BENCH_RESULTS_DIR: resultsDir },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.on('close', (code) => resolve({ code, output }))
  })
}

/** The rows of the table under a `### heading`, as arrays of trimmed cells. */
function tableRows (markdown: string, heading: string): string[][] {
  const start = markdown.split('\n').findIndex((line) => line.startsWith(`### ${heading}`))
  assert.notEqual(start, -1, `no table "${heading}"`)
  const rows: string[][] = []
  const lines = markdown.split('\n').slice(start + 1)
  let seenTable = false
  for (const line of lines) {
    if (line.startsWith('|')) {
      seenTable = true
      rows.push(line.slice(1, -1).split('|').map((cell) => cell.trim()))
    } else if (seenTable) {
      break
    }
  }
  return rows.filter((cells) => !/^-+:?$/.test(cells[1] ?? ''))
}

test('a quick bench run writes every scenario row with numbers, and the chart', { timeout: 360_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-bench-smoke-'))
  try {
    const { code, output } = await runBench(dir)
    assert.equal(code, 0, output)
    const markdown = readFileSync(path.join(dir, 'latest.md'), 'utf8')
    for (const heading of MAIN_TABLES) {
      const [head, ...rows] = tableRows(markdown, heading)
      assert.deepEqual(head?.slice(0, 2), ['scenario', 'Roost'])
      assert.deepEqual(rows.map((cells) => SCENARIOS.find((name) => cells[0]?.startsWith(name))), SCENARIOS, `rows of "${heading}"`)
      for (const cells of rows) {
        // Every broker column and every ratio column holds a number.
        for (const cell of cells.slice(1)) assert.match(cell, NUMBER, `"${heading}" / ${cells[0] ?? ''}: ${cell}`)
      }
    }
    const [latencyHead, latencyRoost] = tableRows(markdown, 'Latency')
    assert.deepEqual(latencyHead, ['broker', 'p50', 'p99', 'max', 'messages'])
    assert.equal(latencyRoost?.[0], 'Roost')
    for (const cell of latencyRoost?.slice(1) ?? []) assert.match(cell, NUMBER)
    const [, connectionsRoost] = tableRows(markdown, 'Connections')
    assert.equal(connectionsRoost?.[0], 'Roost')
    const [clients, rate, ...memory] = connectionsRoost?.slice(1) ?? []
    for (const cell of [clients, rate]) assert.match(cell ?? '', NUMBER)
    // Memory growth per client is a difference of two RSS readings: with the few clients of a
    // quick run, garbage collection in between can make it negative. It is still a number.
    assert.equal(memory.length, 2)
    for (const cell of memory) assert.match(cell, SIGNED_NUMBER)
    // The cluster scenario: one node alone, then two and three roost nodes on one nats-server, in the notes.
    assert.match(markdown, /cluster \(1 node alone: [^)]*\): \d+ msg\/s; CPU per message \(µs\): node A [\d.]+; missing \d+/)
    assert.match(markdown, /cluster \(2 nodes: [^)]*\): \d+ msg\/s; CPU per message \(µs\): node A [\d.]+, B [\d.]+, nats-server [\d.]+; NATS bytes per message in \d+, out \d+/)
    assert.match(markdown, /cluster \(3 nodes: [^)]*\): \d+ msg\/s; CPU per message \(µs\): node A [\d.]+, B [\d.]+, C [\d.]+, nats-server [\d.]+/)
    // The Node-RED scenario: both paths through a real Node-RED runtime, each with its figures.
    const [nodeRedHead, ...nodeRedRows] = tableRows(markdown, 'Node-RED')
    assert.deepEqual(nodeRedHead, ['path', 'msg/s', 'CPU per message (µs)', '÷ core nodes via Roost (msg/s)', '÷ core nodes via Aedes (msg/s)'])
    assert.deepEqual(nodeRedRows.map((cells) => cells[0]), [
      'roost out → roost in (embedded broker, in process)',
      'mqtt out → mqtt in (core nodes, same Roost over TCP)',
      'mqtt out → mqtt in (core nodes, Aedes in process over TCP)',
      'junction → junction (Node-RED alone, no MQTT)'
    ])
    for (const cells of nodeRedRows) for (const cell of cells.slice(1)) assert.match(cell, NUMBER, `Node-RED / ${cells[0] ?? ''}: ${cell}`)
    // Each path's ratio to itself.
    assert.equal(nodeRedRows[1]?.[3], '1.00×')
    assert.equal(nodeRedRows[2]?.[4], '1.00×')

    // The durable scenario: QoS 1 into a persistent session, in memory and on disk, and restarts.
    const [durableHead, ...durableRows] = tableRows(markdown, 'Durable')
    assert.deepEqual(durableHead, ['broker', 'msg/s', 'broker CPU µs per message', 'CPU × Roost in memory'])
    assert.deepEqual(durableRows.map((cells) => cells[0]), ['Roost, in memory', 'Roost, persistence_sync always', 'Roost, persistence_sync batch', 'Mosquitto, in memory', 'Mosquitto, persistence true'])
    for (const cells of durableRows) for (const cell of cells.slice(1)) assert.match(cell, NUMBER, `Durable / ${cells[0] ?? ''}: ${cell}`)
    const [, ...restartRows] = tableRows(markdown, 'Restart over a full store')
    assert.deepEqual(restartRows.map((cells) => cells[0]), ['Roost, persistence_sync always', 'Roost, persistence_sync batch', 'Mosquitto, persistence true'])
    for (const cells of restartRows) for (const cell of cells.slice(1)) assert.match(cell.replace(/ ms$/, ''), NUMBER, `Restart / ${cells[0] ?? ''}: ${cell}`)

    // The dated copy beside latest.md, the same text.
    const dated = readdirSync(dir).filter((file) => /^\d{4}-\d{2}-\d{2}-quick\.md$/.test(file))
    assert.equal(dated.length, 1, `files: ${readdirSync(dir).join(', ')}`)
    assert.equal(readFileSync(path.join(dir, dated[0] as string), 'utf8'), markdown)
    const svg = readFileSync(path.join(dir, 'latest.svg'), 'utf8')
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
    assert.match(svg, /<\/svg>\n$/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
