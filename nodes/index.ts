// The Node-RED entry (bundled to roost.js): registers every Roost node type.
import { registerBroker } from './broker/runtime'
import { registerIn } from './in/runtime'
import { registerOut } from './out/runtime'
import type { RedApi } from './shared/red'

function roostNodes (RED: RedApi): void {
  registerBroker(RED)
  registerIn(RED)
  registerOut(RED)
}

export = roostNodes
