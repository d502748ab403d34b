// What a cluster link uses of the broker it runs in: admission for what other nodes send, the
// logger. The link sees this, never BrokerCore itself.
import type { BrokerCore } from '../core'
import { admit, refusalLine } from '../routing/admit'
import type { ClusterHost } from './link'

export function brokerClusterHost (core: BrokerCore): ClusterHost {
  return {
    logger: core.logger,
    get maxTopicLevels () { return core.options.maxTopicLevels },
    publishInbound (message) {
      // Admitted again here: this node's own limits (max_qos, message_size_limit, $SYS) hold for what others send.
      const refused = admit(core, message, undefined)
      if (refused !== undefined) {
        core.logger.warning(refusalLine('message from the cluster', message.topic, refused))
        return
      }
      core.dispatchMessage(message)
    }
  }
}
