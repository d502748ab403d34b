// The roost-broker Security tab as a person uses it, in headless Chromium against `npm start`
// (scripts/start.mjs) on free ports: add users (one hashed by the browser's WebCrypto, one by the
// runtime's endpoint as on an editor opened over plain http), access rules with the editor's
// validation, deploy, and find `$7$` hashes in the stored credentials that the password-file code
// accepts, users who log in with mosquitto_pub under the rules, no password in flows.json, and
// no password shown when the dialog is opened again; then a TLS listener whose tls-config node is
// made from the dialog, reached by mosquitto_pub with the CA; and a WebSocket path on Node-RED's
// own port, reached by MQTT.js. Screenshots go to test-output/.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import mqtt from 'mqtt'
import type { Page } from 'playwright-core'
import { parsePasswordLine, passwordMatches } from '../../lib/config/password-file'
import { makeTempDir } from '../cli/helpers'
import { makeCertificates, type TestCertificates } from '../helpers/certificates'
import { type EditorSession, outputDir, run, startEditorSession } from './editor-session'
import { freePort } from './support'

const BROKER_ID = 'roost-starter-broker'

describe('roost-broker Security tab in headless Chromium', () => {
  let session: EditorSession
  let page: Page
  let editorPort: number
  let mqttPort: number
  let userDir: string

  // Certificates for the TLS listener, kept to the end: every later deploy reads them again.
  const temp = makeTempDir()
  let certificates: TestCertificates

  before(async () => {
    certificates = makeCertificates(temp.dir)
    session = await startEditorSession()
    ;({ page, editorPort, mqttPort, userDir } = session)
  })

  after(async () => {
    await session?.stop()
    temp.remove()
  })

  async function openSecurityTab (): Promise<void> {
    await page.evaluate(`RED.editor.editConfig('', 'roost-broker', '${BROKER_ID}')`)
    await page.waitForSelector('#node-config-input-port')
    // Node-RED's tab bar reads two clicks within 400 ms as a double click (rename), not a switch.
    await page.waitForTimeout(450)
    await page.click('#red-ui-tab-roost-broker-tab-security a')
    await page.waitForSelector('.roost-broker-users-row .red-ui-editableList-addButton:visible')
  }

  /** The values of the dialog's fields that match a selector, in order. */
  async function values (selector: string): Promise<string[]> {
    return await page.evaluate(`Array.from(document.querySelectorAll(${JSON.stringify(selector)})).map((input) => input.value)`) as string[]
  }

  /** The users credential as the runtime holds it, through the editor's own admin API. */
  async function storedUsers (): Promise<Array<{ username: string, hash?: string, password?: string }>> {
    const response = await fetch(`http://127.0.0.1:${editorPort}/credentials/roost-broker/${BROKER_ID}`)
    assert.equal(response.status, 200)
    const credentials = await response.json() as { users?: string }
    return JSON.parse(credentials.users ?? '[]') as Array<{ username: string, hash?: string }>
  }

  it('adds users, hashed in the browser and by the runtime, and access rules checked as they are typed', async () => {
    await page.goto(`http://127.0.0.1:${editorPort}/`)
    await page.waitForSelector('#roost-starter-in')
    await openSecurityTab()
    const addUser = page.locator('.roost-broker-users-row .red-ui-editableList-addButton')
    await addUser.click()
    await page.locator('.roost-broker-user-name').last().fill('panel')
    await page.locator('.roost-broker-user-password').last().fill('pa55-word')
    // An editor opened over plain http from another machine has no WebCrypto: the runtime hashes.
    await page.evaluate("Object.defineProperty(window, 'isSecureContext', { value: false, configurable: true })")
    await addUser.click()
    await page.locator('.roost-broker-user-name').last().fill('legacy')
    const viaRuntime = page.waitForRequest((request) => request.url().endsWith('/roost/password-hash') && request.method() === 'POST')
    await page.locator('.roost-broker-user-password').last().fill('old-device')
    await viaRuntime
    await page.evaluate("Object.defineProperty(window, 'isSecureContext', { value: true, configurable: true })")

    const addRule = page.locator('.roost-broker-acl-row .red-ui-editableList-addButton')
    await addRule.click()
    const rule = (n: number, part: string): ReturnType<Page['locator']> => page.locator(`#roost-broker-acl .roost-broker-acl-${part}`).nth(n)
    await rule(0, 'username').fill('panel')
    await rule(0, 'filter').fill('panel/#/x')
    // '#' only as the last level [MQTT-4.7.1-2]: the field says so while it is wrong.
    await page.waitForSelector('#roost-broker-acl .roost-broker-acl-filter.input-error')
    await rule(0, 'filter').fill('panel/#')
    await addRule.click()
    await rule(1, 'who').selectOption('anonymous')
    await rule(1, 'access').selectOption('read')
    await rule(1, 'filter').fill('devices/%c/state')
    // %c is replaced only in a pattern: in an anonymous (topic) rule it is refused.
    await page.waitForSelector('#roost-broker-acl .roost-broker-acl-filter.input-error')
    assert.equal(await rule(1, 'username').isVisible(), false)
    await rule(1, 'who').selectOption('pattern')
    await rule(1, 'access').selectOption('write')
    await addRule.click()
    await rule(2, 'who').selectOption('anonymous')
    await rule(2, 'access').selectOption('read')
    await rule(2, 'filter').fill('public/#')
    assert.equal(await page.locator('#roost-broker-acl .input-error').count(), 0)
    await page.locator('#roost-broker-acl').scrollIntoViewIfNeeded()
    await page.screenshot({ path: path.join(outputDir, 'roost-broker-security-users-rules.png') })

    // A TLS listener row shows the certificate settings; removing it hides them again.
    assert.equal(await page.isVisible('#node-config-input-listenerTls'), false)
    await page.locator('.roost-broker-listeners-row .red-ui-editableList-addButton').click()
    await page.waitForSelector('#node-config-input-requireCertificate:visible')
    assert.equal(await page.inputValue('.roost-broker-listener-kind'), 'mqtts')
    assert.equal(await page.inputValue('.roost-broker-listener-port'), '8883')
    // use_identity_as_username takes the name from the client certificate: only with one required.
    assert.equal(await page.isDisabled('#node-config-input-useIdentityAsUsername'), true)
    await page.check('#node-config-input-requireCertificate')
    assert.equal(await page.isDisabled('#node-config-input-useIdentityAsUsername'), false)
    await page.locator('#node-config-input-useIdentityAsUsername').scrollIntoViewIfNeeded()
    await page.screenshot({ path: path.join(outputDir, 'roost-broker-security-listeners.png') })
    await page.uncheck('#node-config-input-requireCertificate')
    await page.locator('#roost-broker-listeners .red-ui-editableList-item-remove').click()
    await page.waitForSelector('#node-config-input-requireCertificate', { state: 'hidden' })

    await page.click('#node-config-dialog-ok')
    await page.waitForSelector('#node-config-input-port', { state: 'detached' })
    await page.click('#red-ui-header-button-deploy')
    await page.waitForSelector('.red-ui-notification:has-text("Successfully deployed")')
  })

  it('stores $7$ PBKDF2-SHA512 hashes that match the passwords, and no password in flows.json', async () => {
    const users = await storedUsers()
    assert.deepEqual(users.map((user) => [user.username, Object.keys(user).sort()]), [['panel', ['hash', 'username']], ['legacy', ['hash', 'username']]])
    for (const [user, password] of [[users[0], 'pa55-word'], [users[1], 'old-device']] as const) {
      assert.match(user?.hash ?? '', /^\$7\$101\$/)
      const parsed = parsePasswordLine(`${user?.username ?? ''}:${user?.hash ?? ''}`, 'credentials')
      assert.ok(parsed !== undefined)
      assert.equal(await passwordMatches(parsed.entry, Buffer.from(password)), true, user?.username)
      assert.equal(await passwordMatches(parsed.entry, Buffer.from(password + 'x')), false, user?.username)
    }
    const flowsJson = readFileSync(path.join(userDir, 'flows.json'), 'utf8')
    assert.ok(!flowsJson.includes('pa55-word') && !flowsJson.includes('old-device') && !flowsJson.includes('$7$'))
    const broker = (JSON.parse(flowsJson) as Array<Record<string, unknown>>).find((node) => node.id === BROKER_ID)
    assert.deepEqual(broker?.acl, [
      { kind: 'topic', access: 'readwrite', filter: 'panel/#', username: 'panel' },
      { kind: 'pattern', access: 'write', filter: 'devices/%c/state' },
      { kind: 'topic', access: 'read', filter: 'public/#' }
    ])
    assert.deepEqual(broker?.listeners, [])
  })

  it('the deployed broker lets the users in with mosquitto_pub, where their rules allow', async () => {
    // The starter flow's roost out shows "connected" once the redeployed broker listens again.
    await page.waitForSelector('#roost-starter-out .red-ui-flow-node-status-label:text-is("connected")')
    const at = ['-h', '127.0.0.1', '-p', String(mqttPort), '-q', '1', '-m', 'x']
    const panel = await run('mosquitto_pub', [...at, '-u', 'panel', '-P', 'pa55-word', '-t', 'panel/lights'])
    assert.equal(panel.code, 0, panel.stderr)
    const legacy = await run('mosquitto_pub', [...at, '-u', 'legacy', '-P', 'old-device', '-i', 'plug', '-t', 'devices/plug/state'])
    assert.equal(legacy.code, 0, legacy.stderr)
    assert.notEqual((await run('mosquitto_pub', [...at, '-u', 'panel', '-P', 'old-device', '-t', 'panel/lights'])).code, 0)
  })

  it('opened again, the dialog lists the users and rules but shows no password', async () => {
    await openSecurityTab()
    assert.deepEqual(await values('.roost-broker-user-name'), ['panel', 'legacy'])
    assert.deepEqual(await values('.roost-broker-user-password'), ['', ''])
    assert.deepEqual(await page.evaluate("Array.from(document.querySelectorAll('.roost-broker-user-password')).map((input) => input.placeholder)"), ['set (type to change)', 'set (type to change)'])
    assert.deepEqual(await values('#roost-broker-acl .roost-broker-acl-filter'), ['panel/#', 'devices/%c/state', 'public/#'])
    assert.deepEqual(await values('#roost-broker-acl .roost-broker-acl-who'), ['user', 'pattern', 'anonymous'])
    await page.locator('#roost-broker-users').scrollIntoViewIfNeeded()
    await page.screenshot({ path: path.join(outputDir, 'roost-broker-security-reopened.png') })
    // Saving without typing keeps the very same hashes: nothing is hashed again.
    const before = await storedUsers()
    await page.click('#node-config-dialog-ok')
    await page.waitForSelector('#node-config-input-port', { state: 'detached' })
    const inEditor = await page.evaluate(`RED.nodes.node('${BROKER_ID}').credentials.users`) as string
    assert.deepEqual(JSON.parse(inEditor), before)
  })

  it('a TLS listener with a tls-config node made from the dialog serves mosquitto_pub over TLS after deploy', async () => {
    const tlsPort = await freePort()
    await openSecurityTab()
    await page.locator('.roost-broker-listeners-row .red-ui-editableList-addButton').click()
    await page.fill('.roost-broker-listener-port', String(tlsPort))
    await page.fill('.roost-broker-listener-host', '127.0.0.1')
    // A new tls-config node, edited on top of the broker's dialog, naming the certificate files.
    await page.click('#node-config-input-btn-listenerTls-add')
    await page.waitForSelector('#node-config-input-uselocalfiles:visible')
    await page.check('#node-config-input-uselocalfiles')
    await page.fill('#node-config-input-cert', certificates.file('server.crt'))
    await page.fill('#node-config-input-key', certificates.file('server.key'))
    await page.fill('#node-config-input-ca', certificates.file('ca.crt'))
    await page.screenshot({ path: path.join(outputDir, 'roost-broker-security-tls-config.png') })
    await page.locator('#node-config-dialog-ok:visible').click()
    await page.waitForSelector('#node-config-input-uselocalfiles', { state: 'detached' })
    assert.notEqual(await page.inputValue('#node-config-input-listenerTls'), '_ADD_')
    await page.click('#node-config-dialog-ok')
    await page.waitForSelector('#node-config-input-port', { state: 'detached' })
    await page.waitForSelector('.red-ui-notification:has-text("Successfully deployed")', { state: 'detached' })
    await page.click('#red-ui-header-button-deploy')
    await page.waitForSelector('.red-ui-notification:has-text("Successfully deployed")')
    const broker = (JSON.parse(readFileSync(path.join(session.userDir, 'flows.json'), 'utf8')) as Array<Record<string, unknown>>).find((node) => node.id === BROKER_ID)
    assert.deepEqual(broker?.listeners, [{ protocol: 'mqtt', tls: true, port: String(tlsPort), host: '127.0.0.1' }])
    // The redeployed broker binds its listeners a moment after the deploy answers: wait (bounded) for the TLS port.
    for (let attempt = 0; attempt < 100 && !await accepts(tlsPort); attempt++) await new Promise((resolve) => setTimeout(resolve, 100))
    const overTls = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(tlsPort), '--cafile', certificates.file('ca.crt'), '-u', 'panel', '-P', 'pa55-word', '-t', 'panel/tls', '-m', 'x', '-q', '1'])
    assert.equal(overTls.code, 0, overTls.stderr)
    const withoutCa = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(tlsPort), '-u', 'panel', '-P', 'pa55-word', '-t', 'panel/tls', '-m', 'x', '-q', '1'])
    assert.notEqual(withoutCa.code, 0)
  })

  it('a WebSocket path set in the dialog serves MQTT.js on Node-RED\'s own port after deploy', async () => {
    await openSecurityTab()
    await page.fill('#node-config-input-wsPath', 'mqtt path')
    await page.locator('#node-config-input-wsPath').blur()
    await page.waitForSelector('#node-config-input-wsPath.input-error')
    await page.fill('#node-config-input-wsPath', '/mqtt')
    await page.locator('#node-config-input-wsPath').blur()
    assert.equal(await page.locator('#node-config-input-wsPath.input-error').count(), 0)
    await page.click('#node-config-dialog-ok')
    await page.waitForSelector('#node-config-input-port', { state: 'detached' })
    await page.waitForSelector('.red-ui-notification:has-text("Successfully deployed")', { state: 'detached' })
    await page.click('#red-ui-header-button-deploy')
    await page.waitForSelector('.red-ui-notification:has-text("Successfully deployed")')
    // The path is served once the redeployed broker listens: try (bounded) until it answers.
    let client: mqtt.MqttClient | undefined
    for (let attempt = 0; attempt < 50 && client === undefined; attempt++) {
      client = await mqtt.connectAsync(`ws://127.0.0.1:${editorPort}/mqtt`, { username: 'panel', password: 'pa55-word', reconnectPeriod: 0, connectTimeout: 2000 })
        .catch(async () => { await new Promise((resolve) => setTimeout(resolve, 100)); return undefined })
    }
    assert.ok(client !== undefined, 'no MQTT over WebSockets at /mqtt')
    try {
      const echoed = new Promise<string>((resolve) => { client?.once('message', (_topic, payload) => { resolve(payload.toString()) }) })
      await client.subscribeAsync('panel/ws', { qos: 1 })
      await client.publishAsync('panel/ws', 'through Node-RED', { qos: 1 })
      assert.equal(await echoed, 'through Node-RED')
    } finally {
      await client.endAsync()
    }
  })
})

/** Whether something accepts TCP connections on the loopback port now. */
function accepts (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => { resolve(false) })
  })
}
