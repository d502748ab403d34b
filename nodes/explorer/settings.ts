// The broker node's topic explorer fields, read into the index's limits.
import { readInt } from '../shared/config'
import { INDEX_DEFAULTS, type TopicIndexLimits } from './topic-index'

export interface ExplorerNodeConfig {
  explorerMaxTopics?: string | number
  explorerTopicKiB?: string | number
  explorerTotalMiB?: string | number
  explorerHistory?: string | number
}

/** The limits a broker node asks for; a node saved before the fields existed gets the defaults. Negative reads as 0. */
export function explorerLimits (config: ExplorerNodeConfig): TopicIndexLimits {
  return {
    maxTopics: Math.max(0, readInt(config.explorerMaxTopics, INDEX_DEFAULTS.maxTopics)),
    maxPayloadBytesPerTopic: Math.max(0, readInt(config.explorerTopicKiB, INDEX_DEFAULTS.maxPayloadBytesPerTopic / 1024)) * 1024,
    maxPayloadBytesTotal: Math.max(0, readInt(config.explorerTotalMiB, INDEX_DEFAULTS.maxPayloadBytesTotal / 1024 / 1024)) * 1024 * 1024,
    historyLength: Math.max(0, readInt(config.explorerHistory, INDEX_DEFAULTS.historyLength))
  }
}
