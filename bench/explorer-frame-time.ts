// The topic explorer's frame time in the editor while 1,000 messages a second arrive: Node-RED
// with the starter flow (npm start on free ports, test/nodes/editor-session.ts), headless
// Chromium, 10,000 retained topics, the view open on an expanded level of 1,000 topics with
// "changes only" on, scrolled every 100 ms (the starter flow's debug node off); an MQTT.js client publishes RATE messages a second over
// those 1,000 topics. requestAnimationFrame intervals are taken in the page, first without traffic
// (the baseline), then with it.
//
//   node --import tsx bench/explorer-frame-time.ts [seconds] [rate]
import mqtt from 'mqtt'
import { startEditorSession } from '../test/nodes/editor-session'

const SECONDS = Number(process.argv[2] ?? 10) || 10
const RATE = Number(process.argv[3] ?? 1000) || 1000

/**
 * Collects requestAnimationFrame intervals for `ms` while the tree scrolls; resolves with them
 * sorted and the main thread's long tasks (over 50 ms, any cause) and their total time.
 */
const FRAMES = `(ms) => new Promise((resolve) => {
  const tree = document.querySelector('.roost-explorer-tree')
  const gaps = []
  const long = []
  const observer = new PerformanceObserver((list) => { for (const entry of list.getEntries()) long.push(entry.duration) })
  observer.observe({ entryTypes: ['longtask'] })
  let last = performance.now()
  const end = last + ms
  let step = 0
  const scroller = setInterval(() => { tree.scrollTop = (step++ % 40) * 220 }, 100)
  function frame (now) {
    gaps.push(now - last)
    last = now
    if (now < end) requestAnimationFrame(frame)
    else { clearInterval(scroller); observer.disconnect(); resolve({ gaps: gaps.sort((a, b) => a - b), long }) }
  }
  requestAnimationFrame(frame)
})`

interface Frames { gaps: number[], long: number[] }

function summary ({ gaps, long: tasks }: Frames): string {
  const at = (q: number): string => (gaps[Math.min(gaps.length - 1, Math.floor(q * gaps.length))] ?? 0).toFixed(1)
  const long = gaps.filter((gap) => gap > 50).length
  const busy = tasks.reduce((sum, ms) => sum + ms, 0)
  return `${gaps.length} frames, p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms, ${long} over 50 ms; ` +
    `${tasks.length} long tasks, ${busy.toFixed(0)} ms in all`
}

async function main (): Promise<void> {
  const session = await startEditorSession()
  const client = await mqtt.connectAsync({ host: '127.0.0.1', port: session.mqttPort, clientId: 'frame-time-load', reconnectPeriod: 0 })
  try {
    for (let i = 0; i < 10_000; i++) client.publish(`load/group${i % 10}/sensor${Math.floor(i / 10)}`, String(i), { qos: 0, retain: true })
    await client.publishAsync('load/ready', '1', { qos: 1 })
    const { page, editorPort } = session
    // The starter flow sends everything ('#') to a debug node: off, so the debug sidebar's own
    // drawing is not measured as the explorer's.
    const debugOff = await fetch(`http://127.0.0.1:${editorPort}/debug/roost-starter-debug/disable`, { method: 'POST' })
    if (!debugOff.ok) throw new Error(`could not disable the starter flow's debug node: HTTP ${debugOff.status}`)
    await page.goto(`http://127.0.0.1:${editorPort}/`)
    await page.waitForSelector('.red-ui-palette-node[data-palette-type="roost in"]')
    await page.evaluate('RED.sidebar.show("roost")')
    await page.click('.roost-sidebar-switch button[data-view=topics]')
    await page.locator('.roost-explorer-row[data-path="load"] .roost-explorer-caret').click()
    await page.locator('.roost-explorer-row[data-path="load/group0"] .roost-explorer-caret').click()
    await page.waitForSelector('.roost-explorer-row[data-path="load/group0/sensor0"]')
    await page.check('.roost-explorer-changes input')
    const rows = await page.evaluate("parseFloat(document.querySelector('.roost-explorer-spacer').style.height) / 22") as number
    const baseline = await page.evaluate(`(${FRAMES})(${SECONDS * 1000})`) as Frames
    let sent = 0
    const perTick = Math.max(1, Math.round(RATE / 100))
    const ticker = setInterval(() => {
      for (let i = 0; i < perTick; i++) client.publish(`load/group0/sensor${sent++ % 1000}`, String(sent), { qos: 0 })
    }, 10)
    const started = Date.now()
    const loaded = await page.evaluate(`(${FRAMES})(${SECONDS * 1000})`) as Frames
    clearInterval(ticker)
    const rate = sent / ((Date.now() - started) / 1000)
    const drawn = await page.locator('.roost-explorer-row').count()
    console.log(`list of ${rows} rows, ${drawn} in the DOM`)
    console.log(`no traffic:            ${summary(baseline)}`)
    console.log(`${Math.round(rate)} msg/s arriving: ${summary(loaded)}`)
  } finally {
    await client.endAsync()
    await session.stop()
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
