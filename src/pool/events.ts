/**
 * The typed event map of a pool. Events are for observers (metrics, logs); the pool never emits
 * 'error', so an application without listeners cannot be crashed by one.
 */
import type { PoolSnapshot } from '../errors.js';
import type { Role } from './pooled-connection.js';
import type { DestroyReason, HealthStatus } from './stats.js';

/** Payload of `topology:primary-changed`. Addresses are `host:port`; no credentials. */
export interface PrimaryChangedEvent {
  /** Previous primary. */
  from: string;
  to: string;
  /** The new generation: connections of older ones are fenced. */
  generation: number;
  /**
   * What noticed the move: the failover leader's promotion notice (`fenceOnPromotion`), a
   * `+switch-master` message, the periodic check, or a hint from a data connection.
   */
  via: 'promotion' | 'switch-master' | 'poll' | 'readonly' | 'masterdown' | 'role' | 'connect';
}

/** Pool events and their payloads (`pool.on(name, listener)`). */
export interface PoolEvents {
  /** A connection finished its handshake. `connectMs`: time to open it. */
  'connection:created': { id: number; role: Role; connectMs: number };
  /** A connection closed. `error`: what the socket reported, if anything. */
  'connection:closed': { id: number; role: Role; reason: DestroyReason; error: Error | undefined };
  /** Opening a connection failed. */
  'connection:error': { id: number; role: Role; error: Error };
  /** A lease was granted after `waitedMs`. */
  'lease:acquired': { id: number; waitedMs: number };
  /** A lease was returned (or discarded) after `heldMs`. */
  'lease:released': { id: number; heldMs: number; destroyed: boolean };
  /** A lease has been held longer than `leakDetectionMs`. `stack`: where it was acquired. */
  'lease:leak': { id: number; heldMs: number; stack: string };
  /** A caller found every lease connection taken. */
  'pool:exhausted': { pending: number; snapshot: PoolSnapshot };
  /** Health changed. */
  health: { from: HealthStatus; to: HealthStatus; error: Error | undefined };
  /** A configuration or server-awareness warning (e.g. max above the server's maxclients). */
  warning: { message: string };
  /** Sentinel: the pool moved to a new primary (old connections fenced, refill on the new one). */
  'topology:primary-changed': PrimaryChangedEvent;
  /** close()/destroy() finished: every connection is closed. */
  'pool:closed': Record<string, never>;
}
