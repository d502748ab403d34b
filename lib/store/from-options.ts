// The store a broker gets from its options when the embedder gives none: the disk store with
// `persistence true`, the memory store (undefined here) otherwise.
import type { Logger } from '../logger'
import type { BrokerOptions } from '../options'
import { DiskStore } from './disk'
import type { Store } from './store'

export function storeFromOptions (options: BrokerOptions, logger: Logger): Store | undefined {
  if (!options.persistence) return undefined
  return new DiskStore({
    directory: options.persistenceLocation,
    base: options.persistenceFile,
    sync: options.persistenceSync,
    autosaveIntervalSec: options.autosaveIntervalSec,
    autosaveOnChanges: options.autosaveOnChanges,
    logger
  })
}
