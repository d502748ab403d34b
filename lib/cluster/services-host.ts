// What the cluster's shared state (services.ts) uses of the broker it runs in.
import type { BrokerCore } from '../core'
import { ReasonCode } from '../errors'
import { publishWill } from '../session/wills'
import { SYS_QOS } from '../sys/tree'
import type { ClusterLink } from './link'
import type { ServicesHost } from './services'

export function brokerServicesHost (core: BrokerCore, link: ClusterLink): ServicesHost {
  return {
    get sysEnabled () { return core.options.sysIntervalSec > 0 },
    get clientCount () { return core.sessions.connectedCount },
    get linkState () { return link.state },
    get backlog () { return link.backlog },
    nextMessageId: () => core.nextMessageId(),
    cleanStartOf: (clientId) => core.sessions.connection(clientId)?.cleanSession,
    takenOver (clientId, node, cleanStart) {
      const conn = core.sessions.connection(clientId)
      if (conn === undefined) return
      core.logger.notice(`Client ${clientId} connected on node ${node}, closing old connection.`)
      // [MQTT-3.1.4-2] the existing connection closes; MQTT 5 tells it why (MQTT 5.0, 3.14.2.1)
      conn.closeWithReason(ReasonCode.SessionTakenOver, 'takenOver')
      core.sessions.movedAway(clientId, cleanStart)
    },
    publishWill: (client, will) => { publishWill(core, client, will) },
    publishSys (topic, value) {
      core.dispatchMessage({ id: 0, topic, payload: Buffer.from(value), qos: SYS_QOS, retain: true })
    }
  }
}
