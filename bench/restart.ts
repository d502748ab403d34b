// Restart over a full store, at the scale: Roost (persistence_sync always) and Mosquitto
// (persistence true) each take the same retained messages and persistent sessions, stop, and
// start again; printed as the durable scenario's restart table. Apart from `npm run bench`
// because a million retained messages take minutes to publish on a small machine.
//
//   node --import tsx bench/restart.ts [retained] [sessions]     (default 1000000 10000)
import { measureRestart, type Restart, VARIANTS } from './durable'

async function main (): Promise<void> {
  const retained = Number(process.argv[2] ?? 1_000_000)
  const sessions = Number(process.argv[3] ?? 10_000)
  console.log(`| broker | start, empty store | start, full store (${retained.toLocaleString('en-US')} retained, ${sessions.toLocaleString('en-US')} sessions) | its CPU | disk bytes per retained message |`)
  console.log('|---|---:|---:|---:|---:|')
  for (const variant of VARIANTS) {
    if (!variant.conf.includes('persistence true') || variant.conf.includes('persistence_sync batch')) continue
    let restart: Restart
    try {
      restart = await measureRestart(variant, { retained, sessions })
    } catch (error) {
      console.log(`| ${variant.label} | failed: ${(error as Error).message} | | | |`)
      continue
    }
    console.log(`| ${variant.label} | ${restart.emptyStartMs} ms | ${restart.restartMs} ms | ${Math.round(restart.restartCpuMs)} ms | ${(restart.diskBytes / retained).toFixed(1)} |`)
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
