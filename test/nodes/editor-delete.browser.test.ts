// Deleting the roost-broker node in the editor as a person does: the dialog's Delete, the question
// whether its stored data goes (keep is the default), "Remove data at next deploy", Deploy. Only
// the deleted broker's own directory under <userDir>/roost/ goes; a neighbour's stays.
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type EditorSession, outputDir, startEditorSession, WAIT_MS } from './editor-session'

describe('deleting an embedded broker in headless Chromium', () => {
  let session: EditorSession

  before(async () => { session = await startEditorSession() })
  after(async () => { await session?.stop() })

  it('asks, marks its data for removal, and the deploy removes only that broker\'s directory', async () => {
    const { page, editorPort, userDir } = session
    // The starter broker runs in memory; its directory and a neighbour's are made here to be watched.
    const own = path.join(userDir, 'roost', 'roost-starter-broker')
    const neighbour = path.join(userDir, 'roost', 'another-broker')
    for (const dir of [own, neighbour]) {
      mkdirSync(dir, { recursive: true })
      writeFileSync(path.join(dir, 'mosquitto.db.1.log'), 'x')
    }
    await page.goto(`http://127.0.0.1:${editorPort}/`)
    await page.waitForSelector('#roost-starter-in .red-ui-flow-node')
    await page.dblclick('#roost-starter-in .red-ui-flow-node')
    await page.click('#node-input-btn-broker-edit')
    await page.waitForSelector('#node-config-input-port')
    // The config dialog's Delete has no id: the left button of the tray with the config dialog's Done.
    await page.click('.red-ui-tray-toolbar:has(#node-config-dialog-ok) button.leftButton')
    const question = page.locator('.red-ui-notification:has-text("keeps its stored sessions")')
    await question.waitFor()
    await page.screenshot({ path: path.join(outputDir, 'roost-broker-delete.png') })
    assert.deepEqual((await question.locator('button').allInnerTexts()).map((text) => text.trim()), ['Keep data', 'Remove data at next deploy'])
    await question.locator('button:has-text("Remove data at next deploy")').click()
    await page.waitForSelector('.red-ui-notification:has-text("removed at the next deploy")')
    // Nothing goes before the deploy.
    assert.ok(existsSync(own))
    await page.click('#node-dialog-ok')
    await page.click('#red-ui-header-button-deploy')
    // The in and out nodes lost their broker: Node-RED asks to confirm deploying invalid nodes.
    await page.click('.red-ui-notification button:has-text("Confirm deploy")')
    await page.waitForSelector('.red-ui-notification:has-text("Successfully deployed")')
    for (let i = 0; i < WAIT_MS / 100 && existsSync(own); i++) await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(existsSync(own), false)
    assert.ok(existsSync(path.join(neighbour, 'mosquitto.db.1.log')))
  })
})
