// Where the remote transport gets its MQTT client. The engine's own client (lib/client) is
// plugged in here; setClientFactory() lets code (and the test suite) supply another one that
// keeps the same contract.
import type { EngineClientFactory } from './client-api'

let factory: EngineClientFactory | undefined

export function setClientFactory (next: EngineClientFactory | undefined): void {
  factory = next
}

export function clientFactory (): EngineClientFactory | undefined {
  return factory
}
