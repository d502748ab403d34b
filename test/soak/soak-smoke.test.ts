// A short slice of `npm run soak` (its --small preset, about 20 s): the built roost command in its
// own process under MQTT.js publishers and subscribers (3.1.1 and 5, QoS 0/1/2, persistent and
// shared), raw slow consumers (one an MQTT 5 client that hangs while large messages come),
// messages near max_packet_size and over it, malformed input and churn. The broker must not
// crash, lose or duplicate an acknowledged message, break a rule, or keep fds once the clients
// have gone. Needs `npm run build` first. Timings are never asserted.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { DEFAULTS } from '../../bench/soak/options'
import type { SoakSummary } from '../../bench/soak/report'

const ROOT = path.resolve(__dirname, '../..')

function runSmallSoak (jsonFile: string): Promise<{ code: number | null, output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/soak/main.ts', '--small', '--json', jsonFile], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.on('close', (code) => resolve({ code, output }))
  })
}

test('a 20 s soak slice: no crash, no lost or duplicated acknowledged message, fds back', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-soak-smoke-'))
  let brokerDir: string | undefined
  try {
    const jsonFile = path.join(dir, 'summary.json')
    const { output } = await runSmallSoak(jsonFile)
    const summary = JSON.parse(readFileSync(jsonFile, 'utf8')) as SoakSummary
    // A failing run keeps the broker's config and log; the output above already shows what matters.
    brokerDir = path.dirname(summary.log.file)
    assert.equal(summary.crashes, 0, `the broker crashed:\n${output}`)
    // The run measured something: tracked messages were acknowledged and delivered.
    assert.ok(summary.messages.acked > 0, output)
    assert.ok(summary.messages.delivered >= summary.messages.acked, output)
    assert.equal(summary.messages.lost, 0, `lost acknowledged messages:\n${output}`)
    assert.equal(summary.messages.duplicates, 0, `QoS 2 duplicates:\n${output}`)
    assert.equal(summary.messages.oversizedDelivered, 0, output)
    assert.deepEqual(summary.violations, {}, output)
    // Every kind of client really ran.
    for (const counter of ['large: sent', 'oversize: sent', 'malformed: sent', 'churn: cycles', 'bulk: sent', 'slow v5 hanging, large: opened']) {
      assert.ok((summary.counters[counter] ?? 0) > 0, `no '${counter}' in the run:\n${output}`)
    }
    const { fdsStart, fdsFinal } = summary.resources
    assert.ok(fdsFinal <= fdsStart + DEFAULTS.fdSlack, `fds: ${fdsStart} at the start, ${fdsFinal} at the end:\n${output}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
    if (brokerDir !== undefined) rmSync(brokerDir, { recursive: true, force: true })
  }
})
