// The editor as a person sees it: `npm start` (scripts/start.mjs) runs Node-RED on free ports in
// a temporary user directory, headless Chromium opens the editor, finds the Roost nodes in the
// palette, opens the roost-broker dialog, deploys the starter flow, and sees messages from
// mosquitto_pub in the debug sidebar, and the Roost sidebar tab with the broker's clients and
// live charts. Screenshots go to test-output/.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Page } from 'playwright-core'
import { type EditorSession, outputDir, run, startEditorSession, WAIT_MS } from './editor-session'

describe('editor in headless Chromium', () => {
  let session: EditorSession
  let page: Page
  let editorPort: number
  let mqttPort: number
  let userDir: string

  before(async () => {
    session = await startEditorSession()
    ;({ page, editorPort, mqttPort, userDir } = session)
  })

  after(async () => { await session?.stop() })

  it('shows the Roost nodes in the palette and the starter flow with its status', async () => {
    await page.goto(`http://127.0.0.1:${editorPort}/`)
    await page.waitForSelector('.red-ui-palette-node[data-palette-type="roost in"]')
    assert.equal(await page.locator('.red-ui-palette-node[data-palette-type="roost out"]').count(), 1)
    assert.equal((await page.locator('.red-ui-palette-node[data-palette-type="roost in"] .red-ui-palette-label').innerText()).trim(), 'roost in')
    // The starter flow's nodes are on the canvas, each saying what it does: roost out is
    // connected to the embedded broker, roost in holds its one subscription.
    await page.waitForSelector('#roost-starter-in .red-ui-flow-node-status-label:text-is("subscribed to 1 filter")')
    await page.waitForSelector('#roost-starter-out .red-ui-flow-node-status-label:text-is("connected")')
    await page.screenshot({ path: path.join(outputDir, 'editor-starter-flow.png') })
  })

  it('opens the roost-broker dialog with its tabs, and deploys a change', async () => {
    await page.dblclick('#roost-starter-in .red-ui-flow-node')
    await page.waitForSelector('#node-input-topic')
    assert.equal(await page.inputValue('#node-input-topic'), '#')
    await page.click('#node-input-btn-broker-edit')
    await page.waitForSelector('#node-config-input-port')
    assert.equal(await page.inputValue('#node-config-input-port'), String(mqttPort))
    const tabs = await page.locator('#roost-broker-tabs li:visible').allInnerTexts()
    assert.deepEqual(tabs.map((t) => t.trim()), ['Connection', 'Security', 'Bridges', 'Cluster', 'Limits'])
    await page.screenshot({ path: path.join(outputDir, 'roost-broker-dialog.png') })
    // Remote mode swaps Limits for Messages (birth, close, will), as core mqtt-broker has; a remote
    // connection has no bridges and no cluster of its own.
    await page.selectOption('#node-config-input-mode', 'remote')
    await page.waitForSelector('#node-config-input-host:visible')
    const remoteTabs = await page.locator('#roost-broker-tabs li:visible').allInnerTexts()
    assert.deepEqual(remoteTabs.map((t) => t.trim()), ['Connection', 'Security', 'Messages'])
    await page.screenshot({ path: path.join(outputDir, 'roost-broker-dialog-remote.png') })
    await page.click('#red-ui-tab-roost-broker-tab-messages')
    await page.waitForSelector('#node-config-input-willTopic:visible')
    // The starter flow's broker node has no birth/will fields: the dialog shows their defaults.
    assert.equal(await page.inputValue('#node-config-input-willQos'), '0')
    assert.equal(await page.inputValue('#node-config-input-remotePort'), '1883')
    assert.equal(await page.inputValue('#node-config-input-protocolVersion'), '4')
    await page.screenshot({ path: path.join(outputDir, 'roost-broker-dialog-messages.png') })
    await page.selectOption('#node-config-input-mode', 'embedded')
    // Messages is hidden in embedded mode, so the dialog went back to Connection.
    await page.waitForSelector('#node-config-input-port:visible')
    // Node-RED's tab bar reads two clicks within 400 ms as a double click (rename), not a switch.
    await page.waitForTimeout(450)
    await page.click('#red-ui-tab-roost-broker-tab-security a')
    await page.waitForSelector('.roost-broker-users-row .red-ui-editableList-addButton:visible')
    await page.click('.roost-broker-users-row .red-ui-editableList-addButton')
    await page.fill('.roost-broker-user-name', 'sensor')
    await page.fill('.roost-broker-user-password', 's3cret')
    await page.screenshot({ path: path.join(outputDir, 'roost-broker-dialog-security.png') })
    await page.waitForTimeout(450)
    await page.click('#red-ui-tab-roost-broker-tab-limits a')
    await page.waitForSelector('#node-config-input-maxInflightBytes:visible')
    // Mosquitto's defaults for the delivery options: no byte limit, no QoS upgrade.
    assert.equal(await page.inputValue('#node-config-input-maxInflightBytes'), '0')
    assert.equal(await page.isChecked('#node-config-input-upgradeOutgoingQos'), false)
    // The starter flow's broker was written before the packet limit: the dialog shows the
    // protocol's limit it runs with, and the timeouts' defaults.
    assert.equal(await page.inputValue('#node-config-input-maxPacketSize'), '0')
    assert.equal(await page.inputValue('#node-config-input-connectTimeout'), '10')
    assert.equal(await page.inputValue('#node-config-input-incompletePacketTimeout'), '60')
    await page.screenshot({ path: path.join(outputDir, 'roost-broker-dialog-limits.png') })
    await page.waitForTimeout(450)
    await page.click('#red-ui-tab-roost-broker-tab-connection a')
    await page.waitForSelector('#node-config-input-port:visible')
    // An invalid port is marked as such by the editor's validation.
    await page.fill('#node-config-input-port', '70000')
    await page.locator('#node-config-input-port').blur()
    await page.waitForSelector('#node-config-input-port.input-error')
    await page.fill('#node-config-input-port', String(mqttPort))
    await page.fill('#node-config-input-sysInterval', '30')
    await page.click('#node-config-dialog-ok')
    await page.click('#node-dialog-ok')
    await page.click('#red-ui-header-button-deploy')
    await page.waitForSelector('.red-ui-notification:has-text("Successfully deployed")')
    // The redeployed broker is back on the same port and the starter flow's nodes on it again.
    await page.waitForSelector('#roost-starter-out .red-ui-flow-node-status-label:text-is("connected")')
  })

  it('roost out dialog: MQTT 5 properties section with validation', async () => {
    await page.dblclick('#roost-starter-out .red-ui-flow-node')
    await page.waitForSelector('#node-input-topic')
    await page.click('#roost-out-properties-toggle')
    await page.waitForSelector('#node-input-userProps:visible')
    await page.fill('#node-input-userProps', '[not an object]')
    await page.locator('#node-input-userProps').blur()
    await page.waitForSelector('#node-input-userProps.input-error')
    await page.fill('#node-input-respTopic', 'replies/#')
    await page.locator('#node-input-respTopic').blur()
    await page.waitForSelector('#node-input-respTopic.input-error')
    await page.screenshot({ path: path.join(outputDir, 'roost-out-dialog.png') })
    await page.click('#node-dialog-cancel')
    await page.waitForSelector('#node-input-topic', { state: 'detached' })
  })

  it('mosquitto_sub sees the starter flow, and mosquitto_pub shows in the debug sidebar', async () => {
    const sub = await run('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(mqttPort), '-t', 'roost/starter/#', '-C', '1', '-v'])
    assert.match(sub.stdout, /^roost\/starter\/time \d+\n$/)
    await page.click('#red-ui-tab-debug-link-button').catch(() => {})
    const pub = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mqttPort), '-t', 'hello/from/mosquitto', '-m', 'greetings-from-mosquitto_pub'])
    assert.equal(pub.code, 0, pub.stderr)
    await page.waitForSelector('.red-ui-debug-msg:has-text("greetings-from-mosquitto_pub")')
    await page.screenshot({ path: path.join(outputDir, 'editor-debug-sidebar.png') })
  })

  it('the user added in the dialog is live on the broker, and kept out of flows.json', async () => {
    const right = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mqttPort), '-u', 'sensor', '-P', 's3cret', '-t', 'auth/check', '-m', 'ok'])
    assert.equal(right.code, 0, right.stderr)
    const wrong = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mqttPort), '-u', 'sensor', '-P', 'wrong', '-t', 'auth/check', '-m', 'no'])
    assert.notEqual(wrong.code, 0)
    const flowsJson = readFileSync(path.join(userDir, 'flows.json'), 'utf8')
    assert.ok(flowsJson.includes('roost-starter-broker'))
    assert.ok(!flowsJson.includes('s3cret') && !flowsJson.includes('sensor'))
    assert.ok(existsSync(path.join(userDir, 'flows_cred.json')))
  })

  it('roost in switched to dynamic subscriptions grows an input port', async () => {
    assert.equal(await page.locator('#roost-starter-in .red-ui-flow-port-input').count(), 0)
    await page.dblclick('#roost-starter-in .red-ui-flow-node')
    await page.waitForSelector('#node-input-dynamic')
    // The tip for dynamic mode is hidden by the dialog's own script: it has run once this is gone.
    await page.waitForSelector('#roost-in-dynamic-tip', { state: 'hidden' })
    await page.click('#roost-in-options-toggle')
    await page.waitForSelector('#node-input-rh:visible')
    // The starter node had no subscription options; saving it earlier kept their defaults.
    assert.equal(await page.isChecked('#node-input-rap'), true)
    assert.equal(await page.isChecked('#node-input-nl'), false)
    assert.equal(await page.inputValue('#node-input-rh'), '0')
    await page.screenshot({ path: path.join(outputDir, 'roost-in-dialog.png') })
    await page.check('#node-input-dynamic')
    await page.waitForSelector('#node-input-rh', { state: 'hidden' })
    await page.waitForSelector('#node-input-topic', { state: 'hidden' })
    await page.click('#node-dialog-ok')
    await page.waitForSelector('#roost-starter-in .red-ui-flow-port-input')
  })

  it('the Roost sidebar tab lists the embedded broker\'s clients and draws its live charts', async () => {
    // A client that stays connected and receives the starter flow's messages (traffic out).
    const viewer = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(mqttPort), '-i', 'sidebar-viewer', '-t', 'roost/#', '-t', 'sidebar/#'], { stdio: 'ignore' })
    const viewerGone = new Promise<void>((resolve) => { viewer.once('exit', () => { resolve() }) })
    try {
      // The tab sits in the sidebar's tab bar (or, when the bar is full, in the View menu).
      const label = page.locator('#red-ui-tab-roost .red-ui-tab-label')
      if (await label.isVisible()) await label.click()
      else await page.evaluate('RED.sidebar.show("roost")')
      await page.waitForSelector('.roost-sidebar-broker h4:has-text("Local broker")')
      // The tab polls every 5 s while it is open: the client shows up, with its two subscriptions.
      const row = page.locator('.roost-sidebar-client:has-text("sidebar-viewer")')
      await row.waitFor()
      // A poll can land between the client's CONNECT and its SUBSCRIBE: wait (bounded) for the
      // poll that sees both subscriptions, then check the whole row.
      await page.waitForFunction("Array.from(document.querySelectorAll('.roost-sidebar-client')).some((tr) => tr.textContent.includes('sidebar-viewer') && tr.querySelectorAll('td')[3]?.textContent.trim() === '2')", undefined, { timeout: WAIT_MS })
      const cells = (await row.locator('td').allInnerTexts()).map((text) => text.trim())
      assert.equal(cells[0], 'sidebar-viewer')
      assert.match(cells[1] ?? '', /^127\.0\.0\.1:\d+$/)
      assert.equal(cells[2], 'MQTT 3.1.1')
      assert.equal(cells[3], '2')
      // Some traffic in as well, then wait until the charts have a few samples to draw.
      await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mqttPort), '-t', 'sidebar/in', '-m', 'x', '-q', '1'])
      await page.waitForFunction("(document.querySelector('.roost-sidebar-line-connections')?.getAttribute('points') ?? '').split(' ').length >= 3", undefined, { timeout: WAIT_MS })
      assert.deepEqual((await page.locator('.roost-sidebar-chart-title').allInnerTexts()).map((t) => t.replace(/\s*\(.*$/s, '').trim()), ['Messages/s', 'Connections'])
      await page.hover('.roost-sidebar-caption')
      await page.screenshot({ path: path.join(outputDir, 'roost-sidebar.png') })
    } finally {
      viewer.kill('SIGTERM')
      await viewerGone
    }
  })

  it('roost sys and roost presence are in the palette; the presence dialog shows the custom fields only for a custom pattern', async () => {
    await page.waitForSelector('.red-ui-palette-node[data-palette-type="roost sys"]')
    assert.equal(await page.locator('.red-ui-palette-node[data-palette-type="roost presence"]').count(), 1)
    // Put a presence node on the canvas through the editor's own import, then open its dialog.
    await page.evaluate(`RED.view.importNodes([{ id: 'roost-test-presence', type: 'roost presence', z: RED.workspaces.active(), broker: 'roost-starter-broker', events: true, pattern: 'tasmota', x: 300, y: 320, wires: [[]] }]); RED.editor.edit(RED.nodes.node('roost-test-presence'))`)
    await page.waitForSelector('#node-input-pattern')
    assert.equal(await page.inputValue('#node-input-pattern'), 'tasmota')
    assert.equal(await page.isVisible('#node-input-topic'), false)
    await page.selectOption('#node-input-pattern', 'custom')
    await page.waitForSelector('#node-input-topic:visible')
    await page.fill('#node-input-topic', 'site/{device}/state')
    assert.equal(await page.inputValue('#node-input-online'), 'online')
    await page.screenshot({ path: path.join(outputDir, 'roost-presence-dialog.png') })
    await page.click('#node-dialog-cancel')
  })
})
