// What a cluster link uses of the broker it runs in: admission for what other nodes send, the
// logger. The link sees this, never BrokerCore itself.
import type { BrokerCore } from '../core'
import { deliverUnder } from '../router'
import { admit, refusalLine } from '../routing/admit'
import { subscribe } from '../routing/subscribe'
import type { Session } from '../session/session'
import { topicMatches } from '../topics/validate'
import type { Message } from '../types'
import type { ClusterHost } from './link'
import { type ClusterOptions, clusterNodeId } from './options'
import type { SessionEvents, SessionSubscription } from './session-consumers'

export function brokerClusterHost (core: BrokerCore): ClusterHost {
  return {
    // The link's own id: brokerClusterHost is made only for a broker in a cluster.
    nodeId: clusterNodeId(core.options.cluster as ClusterOptions),
    logger: core.logger,
    get maxTopicLevels () { return core.options.maxTopicLevels },
    journal: core.store,
    takeStoredBacklog () {
      const stored = core.storedClusterBacklog
      core.storedClusterBacklog = undefined
      return stored
    },
    publishInbound (message) {
      if (admitted(core, message)) core.dispatchMessage(message)
    },
    deliverHere (message) {
      core.router.route(message, true)
    },
    publishShared (message, levelsFilter, group) {
      // NATS matched the subject; a filter level that is literally '*' or '>' is a NATS wildcard there.
      if (admitted(core, message) && topicMatches(levelsFilter, message.topic)) core.dispatchShared(message, levelsFilter, group)
    },
    persistentSession (clientId) {
      const session = core.sessions.connection(clientId)?.session ?? undefined
      return session !== undefined && session.expiryIntervalSec > 0 ? session : undefined
    },
    restore (session, subscription) {
      const info = core.sessions.connection(session.clientId)?.info
      const { filter, qos, options } = subscription
      const grant = subscribe(core, session, info, { filter, qos, options, mqtt5: info?.protocolVersion === 5 })
      if (grant.code >= 0x80) core.logger.notice(`Cluster: the subscription of ${session.clientId} to '${filter}' was not taken back: ${grant.reason ?? 'refused'}.`)
    },
    deliver (session, message, subscription) {
      return deliverToSession(core, session, message, subscription)
    },
    watchSessions (events) {
      watchSessionEvents(core, events)
    }
  }
}

/** A message of a session's own consumers, to that session with the rules the router applies (router.ts). */
function deliverToSession (core: BrokerCore, session: Session, message: Message, subscription: SessionSubscription): boolean {
  if (!admitted(core, message)) return false
  const options = subscription.options
  // [MQTT-3.8.3-3] No Local
  if (options?.noLocal === true && message.origin?.clientId === session.originKey) return false
  const gate = core.router.gate
  if (gate !== undefined && !gate.allows(session, message.topic)) return false
  message.id = core.nextMessageId()
  deliverUnder(core.router, session, message, subscription.qos, options)
  return true
}

function watchSessionEvents (core: BrokerCore, events: SessionEvents): void {
  const emitter = core.events
  emitter.on('clientConnected', (info) => { events.connected(info.clientId, info.cleanSession) })
  emitter.on('clientDisconnected', (info) => { events.disconnected(info.clientId) })
  emitter.on('subscribe', (event) => {
    const filters = event.subscriptions.filter((one) => one.qos < 0x80).map((one) => one.filter)
    if (filters.length > 0) events.subscribed(event.clientId, filters)
  })
  emitter.on('unsubscribe', (event) => { events.unsubscribed(event.clientId, event.filters) })
}

/** Admitted again here: this node's own limits (max_qos, message_size_limit, $SYS) hold for what others send. */
function admitted (core: BrokerCore, message: Message): boolean {
  const refused = admit(core, message, undefined)
  if (refused === undefined) return true
  core.logger.warning(refusalLine('message from the cluster', message.topic, refused))
  return false
}
