// The Node-RED entry (bundled to roost.js): registers every Roost node type.
import { registerPasswordHashing } from './broker/password-hash'
import { registerStoreRemoval } from './broker/store-removal'
import { registerBroker } from './broker/runtime'
import { registerIn } from './in/runtime'
import { registerOut } from './out/runtime'
import { registerPresence } from './presence/runtime'
import { registerLiveView } from './sidebar/runtime'
import { registerExplorer } from './explorer/runtime'
import { registerSys } from './sys/runtime'
import type { RedApi } from './shared/red'

function roostNodes (RED: RedApi): void {
  registerBroker(RED)
  registerIn(RED)
  registerOut(RED)
  registerSys(RED)
  registerPresence(RED)
  registerLiveView(RED)
  registerExplorer(RED)
  registerPasswordHashing(RED)
  registerStoreRemoval(RED)
}

export = roostNodes
