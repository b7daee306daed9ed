/**
 * The event map of a cluster subscriber (the message events are a `Subscriber`'s; shard channels
 * are grouped by slot with `groupBySlot`, one SSUBSCRIBE each: a cluster node refuses channels
 * of several slots in one).
 */
import type { RedpoolError } from '../errors.js';
import type { SubscriberConnectInfo, SubscriberEvents } from '../pool/subscriber-types.js';

/** Which node an event of a `ClusterSubscriber` is about. */
export interface SubscriberNode {
  /** The node id (as in the cluster's stats). */
  node: string;
  /** `host:port` of the node. */
  address: string;
}

/** Events of a `ClusterSubscriber`: a `Subscriber`'s, with the node they come from. It never emits 'error'. */
export interface ClusterSubscriberEvents extends Pick<
  SubscriberEvents,
  'message' | 'messageBuffer' | 'pmessage' | 'pmessageBuffer' | 'smessage' | 'smessageBuffer' | 'close'
> {
  /** A node's subscriber connection is (again) ready with its subscriptions. */
  connect: [info: SubscriberConnectInfo & SubscriberNode];
  /** A node's subscriber connection ended; its messages are lost until it (or a new owner) connects. */
  disconnect: [info: { error: Error | undefined } & SubscriberNode];
  'connect:error': [info: { error: RedpoolError; attempt: number } & SubscriberNode];
  /** Subscriptions that could not be (re)placed: refused by the server, or no owner within the deadline (retried by the reconcile). */
  'subscribe:error': [info: { error: RedpoolError; command: string; names: string[] }];
  /** A shard channel was re-subscribed on another node (node ids), after a slot move or a failover. */
  'shard:moved': [info: { channel: string; from: string; to: string }];
}
