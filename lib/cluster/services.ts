// What a node shares with the cluster beyond routing: retained messages, client ids (takeover),
// wills, membership, and the $SYS/cluster view. Each lives in its own file and bucket; this puts
// them in step with the link: brought up to date, in order, each time the link's connection comes
// up, told when it is lost, and stopped before the link closes.
import type { NatsConnection } from '@nats-io/transport-node'
import type { Logger } from '../logger'
import type { SessionRecord } from '../store/records'
import type { Store } from '../store/store'
import type { ClientInfo, Message } from '../types'
import { BUCKETS, ensureBuckets } from './buckets'
import { ClusterStore, type SessionObserver } from './cluster-store'
import type { LinkListener } from './link'
import { ClusterMembership } from './membership'
import { type ClusterOptions, clusterNodeId, DEFAULT_DEAD_AFTER_HEARTBEATS, DEFAULT_HEARTBEAT_MS, DEFAULT_REPLICAS } from './options'
import { ClusterRetained } from './retained-bucket'
import { type BacklogCounts, ClusterSys } from './sys'
import { ClusterTakeover } from './takeover'
import { ClusterWills } from './wills'

/** How long a node that shuts down waits, at most, for its last writes to the buckets. */
const STOP_WAIT_MS = 2000

/** What the cluster's shared state needs of the broker. */
export interface ServicesHost {
  /** sys_interval > 0. */
  readonly sysEnabled: boolean
  readonly clientCount: number
  /** The link's state, for $SYS/cluster/state. */
  readonly linkState: string
  /** The link's backlog (backlog.ts), for $SYS/cluster/backlog/... */
  readonly backlog: BacklogCounts
  nextMessageId (): number
  /** Clean Start of a client connected here; undefined when it is not. */
  cleanStartOf (clientId: string): boolean | undefined
  /** The client connected again on `node`: close its connection here, settle its session. */
  takenOver (clientId: string, node: string, cleanStart: boolean): void
  publishWill (client: ClientInfo, will: Message): void
  publishSys (topic: string, value: string): void
}

export class ClusterServices implements LinkListener, SessionObserver {
  readonly nodeId: string
  /** Copies JetStream keeps of each bucket. */
  private readonly replicas: number
  private host: ServicesHost | undefined
  private retained: ClusterRetained | undefined
  private readonly takeover: ClusterTakeover
  private readonly wills: ClusterWills
  private readonly membership: ClusterMembership
  private readonly sys: ClusterSys
  /** The bringing up to date under way; each new connection waits for the previous one's. */
  private syncing: Promise<void> = Promise.resolve()
  private firstSync: Promise<void>
  private markFirstSync: () => void = () => {}

  constructor (options: ClusterOptions, private readonly logger: Logger) {
    this.nodeId = clusterNodeId(options)
    this.replicas = options.replicas ?? DEFAULT_REPLICAS
    const nodeId = this.nodeId
    // The broker is made after its store (wrapStore): what the parts need of it is reached through attach().
    const services = this
    this.firstSync = new Promise((resolve) => { this.markFirstSync = resolve })
    this.takeover = new ClusterTakeover({
      nodeId,
      logger,
      cleanStartOf: (clientId) => this.broker.cleanStartOf(clientId),
      takenOver: (clientId, node, cleanStart) => { this.broker.takenOver(clientId, node, cleanStart) }
    })
    this.wills = new ClusterWills({
      nodeId,
      logger,
      publishWill: (client, will) => { this.broker.publishWill(client, will) },
      connectedElsewhere: async (clientId, deadNode) => {
        const owner = await this.takeover.ownerOf(clientId)
        return owner !== undefined && owner !== deadNode && this.membership.nodes.get(owner)?.heartbeat.state === 'up'
      }
    })
    this.membership = new ClusterMembership({
      nodeId,
      logger,
      get clientCount () { return services.broker.clientCount },
      nodeDied: (deadNode) => { void this.wills.nodeDied(deadNode) },
      changed: () => { this.updateSys() }
    }, options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, options.deadAfterHeartbeats ?? DEFAULT_DEAD_AFTER_HEARTBEATS)
    this.sys = new ClusterSys({
      nodeId,
      get sysEnabled () { return services.broker.sysEnabled },
      publishSys: (topic, value) => { this.broker.publishSys(topic, value) }
    })
  }

  /** The node's store as the broker must use it: retained messages and the session journal through the cluster. */
  wrapStore (store: Store): Store {
    this.retained = new ClusterRetained(store.retained, {
      logger: this.logger,
      nextMessageId: () => this.broker.nextMessageId()
    })
    return new ClusterStore(store, this.retained, this)
  }

  /** The broker, once it exists (the store is made before it). */
  attach (host: ServicesHost): void {
    this.host = host
  }

  /** Resolves once the first connection brought everything up to date, or after `timeoutMs`. */
  async synced (timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.firstSync, new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs) })])
    clearTimeout(timer)
  }

  linkUp (nc: NatsConnection): void {
    this.syncing = this.syncing.then(async () => { await this.bringUpToDate(nc) })
    this.updateSys()
  }

  linkDown (): void {
    this.retained?.disconnected()
    this.takeover.disconnected()
    this.wills.disconnected()
    this.membership.disconnected()
    this.updateSys()
  }

  backlogChanged (): void {
    this.updateSys()
  }

  sessionSaved (record: SessionRecord): void {
    // Saved while connected: at CONNECT (lib/session/registry.ts register); saved offline: it left.
    if (record.offlineSinceMs === 0) {
      const cleanStart = this.host?.cleanStartOf(record.clientId)
      if (cleanStart !== undefined) this.takeover.clientConnected(record.clientId, cleanStart)
    } else {
      this.takeover.clientGone(record.clientId)
    }
    this.wills.sessionSaved(record)
  }

  sessionRemoved (clientId: string): void {
    this.takeover.clientGone(clientId)
    this.wills.sessionRemoved(clientId)
  }

  /**
   * After the last connection closed, before the link does: 'left' written, every write sent, or
   * STOP_WAIT_MS passed (NATS away: what was not written is for the survivors to find).
   */
  async stop (): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const stopped = (async () => {
      await this.syncing
      await this.membership.stop()
      await this.wills.stop()
      await this.takeover.stop()
      await this.retained?.stop()
    })()
    await Promise.race([stopped, new Promise<void>((resolve) => { timer = setTimeout(resolve, STOP_WAIT_MS) })])
    clearTimeout(timer)
  }

  private get broker (): ServicesHost {
    if (this.host === undefined) throw new Error('cluster services used before the broker was attached')
    return this.host
  }

  private async bringUpToDate (nc: NatsConnection): Promise<void> {
    try {
      // Made here with the configured copies before any part opens its own (with one).
      await ensureBuckets(nc, Object.values(BUCKETS), this.replicas, this.logger)
      await this.retained?.connected(nc)
      await this.takeover.connected(nc)
      await this.membership.connected(nc)
      await this.wills.connected(nc)
      this.logger.info(`Cluster: node ${this.nodeId} in step with the cluster's retained messages, clients, wills and members.`)
    } catch (error) {
      // No JetStream on that NATS (or it went away again): routing goes on; the next connection tries again.
      this.logger.warning(`Cluster: key-value buckets on NATS unavailable: ${(error as Error).message}; retained messages, takeover and wills stay per node meanwhile.`)
    }
    this.markFirstSync()
    this.updateSys()
  }

  private updateSys (): void {
    if (this.host === undefined) return
    this.sys.update(this.membership.nodes, this.host.linkState, this.host.backlog)
  }
}
