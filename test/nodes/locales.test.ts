// Every user-facing string is a locale key present in all four shipped languages, and every
// language ships the same keys and a help page for every node type.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, it } from 'node:test'
import { BRIDGE_ERROR_KEYS } from '../../nodes/broker/bridges'
import { DIALOG_ERROR_KEYS } from '../../nodes/broker/security'
import { CONNECTION_ERROR_KEYS, TRANSPORT_ERROR_CODES } from '../../nodes/shared/errors'
import { INBOUND_ERROR_KEYS, OUTPUT_TYPES } from '../../nodes/shared/inbound'
import { OUTBOUND_ERROR_KEYS } from '../../nodes/shared/outbound'

const root = path.resolve(__dirname, '../..')
const LANGUAGES = ['en-US', 'ja', 'zh-CN', 'de']
const NODE_TYPES = ['roost-broker', 'roost in', 'roost out', 'roost sys', 'roost presence']

function flatten (value: unknown, prefix = ''): Map<string, string> {
  const keys = new Map<string, string>()
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const name = prefix === '' ? key : `${prefix}.${key}`
    if (typeof child === 'string') keys.set(name, child)
    else for (const [k, v] of flatten(child, name)) keys.set(k, v)
  }
  return keys
}

function catalog (language: string): Map<string, string> {
  return flatten(JSON.parse(readFileSync(path.join(root, 'locales', language, 'roost.json'), 'utf8')))
}

function filesUnder (dir: string, suffix: string): string[] {
  const found: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) found.push(...filesUnder(full, suffix))
    else if (entry.name.endsWith(suffix)) found.push(full)
  }
  return found
}

/** Every key the code and the editor templates name literally. */
function usedKeys (): Set<string> {
  const used = new Set<string>()
  const literal = /['"`](?:\[[a-z]+\])?(roost-(?:broker|in|out|sys|presence|sidebar)\.[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)['"`]/g
  for (const file of [...filesUnder(path.join(root, 'nodes'), '.ts'), ...filesUnder(path.join(root, 'nodes'), '.html')]) {
    for (const match of readFileSync(file, 'utf8').matchAll(literal)) used.add(match[1] as string)
  }
  // Keys built from a code at run time: every code the code can produce.
  for (const key of OUTBOUND_ERROR_KEYS) used.add(`roost-out.errors.${key}`)
  for (const code of TRANSPORT_ERROR_CODES) used.add(`roost-out.errors.${code}`)
  for (const key of CONNECTION_ERROR_KEYS) used.add(`roost-broker.connection.${key}`)
  for (const key of INBOUND_ERROR_KEYS) used.add(`roost-in.errors.${key}`)
  for (const type of OUTPUT_TYPES) used.add(`roost-in.output.${type}`)
  for (const key of DIALOG_ERROR_KEYS) used.add(`roost-broker.errors.${key}`)
  for (const key of BRIDGE_ERROR_KEYS) used.add(`roost-broker.errors.${key}`)
  return used
}

describe('locales', () => {
  const english = catalog('en-US')

  it('the scan finds the keys the nodes use (sanity check of the scanner)', () => {
    const used = usedKeys()
    assert.ok(used.has('roost-broker.tabs.connection'))
    assert.ok(used.has('roost-out.errors.no-topic'))
    assert.ok(used.has('roost-in.label.topic'))
    assert.ok(used.size > 60, `only ${used.size} keys found`)
  })

  for (const language of LANGUAGES) {
    it(`${language}: every key used in code and editor exists`, () => {
      const keys = catalog(language)
      const missing = [...usedKeys()].filter((key) => !keys.has(key)).sort()
      assert.deepEqual(missing, [])
    })

    it(`${language}: same keys as en-US, none empty, same __placeholders__`, () => {
      const keys = catalog(language)
      assert.deepEqual([...keys.keys()].sort(), [...english.keys()].sort())
      for (const [key, text] of keys) {
        assert.notEqual(text.trim(), '', `${language} ${key} is empty`)
        const placeholders = (s: string): string[] => (s.match(/__[a-zA-Z]+__/g) ?? []).sort()
        assert.deepEqual(placeholders(text), placeholders(english.get(key) ?? ''), `${language} ${key}`)
      }
    })

    it(`${language}: a help page for every node type`, () => {
      const html = readFileSync(path.join(root, 'locales', language, 'roost.html'), 'utf8')
      for (const type of NODE_TYPES) assert.ok(html.includes(`data-help-name="${type}"`), `${language} has no help for ${type}`)
    })
  }

  it('en-US has no key that nothing uses', () => {
    const used = usedKeys()
    assert.deepEqual([...english.keys()].filter((key) => !used.has(key)).sort(), [])
  })
})
