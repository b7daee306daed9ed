/**
 * The seams a topology (Sentinel) plugs into the engine, and nothing else of its internals:
 * where the next connection goes ({@link EndpointSource}, read at every dial), a check each new
 * connection must pass before it is used ({@link EngineTopology.verify}: ROLE must be master),
 * and where replies that prove the node is not the primary are reported
 * ({@link EngineTopology.hint}). A single-node pool uses {@link fixedEndpoint}: generation 0
 * forever, no verify, no hints, so it behaves exactly as without a topology.
 */
import type { DriverConnection } from '../driver/driver.js';
import type { SentinelStats } from './stats.js';

/** Where to dial, and which generation of the topology that address belongs to. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  /** TLS SNI name for this node (overrides `tls.servername`); undefined: the pool's setting. */
  readonly servername?: string | undefined;
  /**
   * Increases by one every time the topology moves the pool to another node. Connections
   * record the generation they were dialled for; `retarget(g)` fences every older one.
   */
  readonly generation: number;
  /** Credential-free label for errors and logs, e.g. `redis://127.0.0.1:6380`; default: the pool's `endpoint`. */
  readonly label?: string | undefined;
}

/** Read by the dialer at every dial; may be a promise while the first discovery runs. */
export interface EndpointSource {
  current(): Endpoint | Promise<Endpoint>;
}

/** Why the engine tells the topology its view may be stale. */
export type TopologyHint =
  /** A data connection answered `-READONLY` (it is a replica now). */
  | 'readonly'
  /** A data connection answered `-MASTERDOWN`. */
  | 'masterdown'
  /** A new connection failed its role check. */
  | 'role'
  /** A connect to the current endpoint failed. */
  | 'connect';

/** What a topology gives the engine (see the module comment). */
export interface EngineTopology {
  readonly endpoint: EndpointSource;
  /**
   * Awaited after the handshake, before the connection is used (under the connect deadline).
   * Rejects with a `not-sent` error when the node must not serve (e.g. ROLE is not master).
   */
  verify?(conn: DriverConnection, endpoint: Endpoint): Promise<void>;
  /** The engine saw a sign that the endpoint is stale; the topology decides whether to rediscover. */
  hint?(reason: TopologyHint, generation: number): void;
  /** Shown as `stats().sentinel` (and so in `health()`). */
  stats?(): SentinelStats;
}

/** The single-node source: the configured host/port, generation 0. */
export function fixedEndpoint(host: string, port: number): EndpointSource {
  const ep: Endpoint = { host, port, generation: 0 };
  return { current: () => ep };
}
