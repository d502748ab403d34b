// Where the remote transport gets its MQTT client: the engine's own client (lib/client) when
// the build has it, or whatever setClientFactory() supplied (code embedding the nodes, tests).
import type { EngineClient, EngineClientFactory } from './client-api'

let factory: EngineClientFactory | undefined = loadEngineClient()

export function setClientFactory (next: EngineClientFactory | undefined): void {
  factory = next
}

export function clientFactory (): EngineClientFactory | undefined {
  return factory
}

/** The engine's client, bundled in by the build once lib/client exists; undefined before. */
export function engineClientFactory (): EngineClientFactory | undefined {
  return loadEngineClient()
}

function loadEngineClient (): EngineClientFactory | undefined {
  try {
    const engine = require('../../lib/client') as { createClient?: (options: object) => EngineClient }
    const create = engine.createClient
    return create === undefined ? undefined : (options) => create(options)
  } catch {
    return undefined
  }
}
