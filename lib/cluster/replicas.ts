// How many NATS servers keep a copy of Roost's stream and buckets (ClusterOptions.replicas, the
// `cluster_replicas` word). JetStream replicates a stream with Raft: with 3 copies on a three-server
// NATS cluster, losing one server costs a leader election, not the messages.
//
// The first node to connect makes the stream and buckets with its count. One that finds them with
// another count asks JetStream to change it (nats-server 2.9 scales a stream up and down in place,
// its messages kept); when JetStream refuses (fewer servers than replicas, a server away), the
// stream stays as it is and the node says so: refusing to start over a copy count would take
// QoS 1/2 across the cluster away altogether.
import type { JetStreamManager } from '@nats-io/jetstream'
import type { Logger } from '../logger'

/** Brings the stream's replica count to `wanted` when it has another; logs what it did or could not do. */
export async function matchReplicas (jsm: JetStreamManager, stream: string, wanted: number, logger: Logger): Promise<void> {
  const info = await jsm.streams.info(stream)
  const have = info.config.num_replicas
  if (have === wanted) return
  try {
    await jsm.streams.update(stream, { ...info.config, num_replicas: wanted })
    logger.notice(`Cluster: JetStream now keeps ${stream} on ${wanted} NATS server(s) instead of ${have}.`)
  } catch (error) {
    logger.warning(`Cluster: JetStream keeps ${stream} on ${have} NATS server(s), not the ${wanted} of cluster_replicas: ${(error as Error).message}.`)
  }
}
