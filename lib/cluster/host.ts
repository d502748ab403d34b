// What a cluster link uses of the broker it runs in: admission for what other nodes send, the
// logger. The link sees this, never BrokerCore itself.
import type { BrokerCore } from '../core'
import { admit, refusalLine } from '../routing/admit'
import { topicMatches } from '../topics/validate'
import type { Message } from '../types'
import type { ClusterHost } from './link'

export function brokerClusterHost (core: BrokerCore): ClusterHost {
  return {
    logger: core.logger,
    get maxTopicLevels () { return core.options.maxTopicLevels },
    publishInbound (message) {
      if (admitted(core, message)) core.dispatchMessage(message)
    },
    deliverHere (message) {
      core.router.route(message, true)
    },
    publishShared (message, levelsFilter, group) {
      // NATS matched the subject; a filter level that is literally '*' or '>' is a NATS wildcard there.
      if (admitted(core, message) && topicMatches(levelsFilter, message.topic)) core.dispatchShared(message, levelsFilter, group)
    }
  }
}

/** Admitted again here: this node's own limits (max_qos, message_size_limit, $SYS) hold for what others send. */
function admitted (core: BrokerCore, message: Message): boolean {
  const refused = admit(core, message, undefined)
  if (refused === undefined) return true
  core.logger.warning(refusalLine('message from the cluster', message.topic, refused))
  return false
}
