/**
 * What the pool knows about the server's limits, and the rules that compare the pool's settings
 * with them. One type ({@link ServerLimits}) is filled by `ready()` (CONFIG GET) and by
 * {@link fetchServerLimits}-style reads (INFO clients), and read by the advice rules and by the
 * warnings `ready()` emits; the maxclients and idle-timeout rules are written once, here.
 */

/** What the server reports, as far as it is known (`INFO clients`, `CONFIG GET`). */
export interface ServerLimits {
  /** `maxclients`. */
  maxclients?: number;
  /** `connected_clients`: every client of the server, not only this pool. */
  connectedClients?: number;
  /** `timeout`: seconds after which the server closes an idle client; 0 = never. */
  timeout?: number;
  /** True when CONFIG GET was refused (ACL, renamed command, managed service). */
  configDenied?: boolean;
}

/** One finding of a server-limit rule. */
export interface LimitFinding {
  level: 'warning' | 'critical';
  message: string;
}

/**
 * The maxclients rule: `budget` connections (max × workers) against the server's `maxclients`.
 * Critical above it (connections beyond it are refused); a warning above `shareRatio` of it
 * (other clients and processes share that limit) when `shareRatio` is given.
 */
export function maxclientsFinding(
  budget: number,
  maxclients: number | undefined,
  what: string,
  shareRatio?: number,
): LimitFinding | undefined {
  if (maxclients === undefined || maxclients <= 0) return undefined;
  if (budget > maxclients)
    return {
      level: 'critical',
      message: `${what} exceeds the server's maxclients (${maxclients}): under load new connections will be refused`,
    };
  if (shareRatio !== undefined && budget > maxclients * shareRatio)
    return {
      level: 'warning',
      message: `${what} is above ${Math.round(shareRatio * 100)}% of the server's maxclients (${maxclients}); other clients and processes share that limit`,
    };
  return undefined;
}

/** Pool settings the server-limit warnings read. */
export interface LimitSettings {
  max: number;
  idleTimeoutMs: number;
  healthCheckIntervalMs: number;
}

/**
 * Warnings `ready()` emits about settings the server will defeat: a pool larger than the server
 * admits (or close to it), or idle connections kept longer than the server's idle `timeout`.
 */
export function serverWarnings(limits: ServerLimits, o: LimitSettings): string[] {
  const out: string[] = [];
  const mc = maxclientsFinding(o.max, limits.maxclients, `max (${o.max})`, 0.8);
  if (mc) out.push(mc.message);
  if (limits.timeout !== undefined && limits.timeout > 0) {
    const serverMs = limits.timeout * 1000;
    if (o.idleTimeoutMs === 0 || o.idleTimeoutMs >= serverMs)
      out.push(
        `idleTimeoutMs (${o.idleTimeoutMs}) is not below the server's timeout (${limits.timeout}s): the server will close idle connections first`,
      );
    if (o.healthCheckIntervalMs === 0 || o.healthCheckIntervalMs >= serverMs)
      out.push(
        `healthCheckIntervalMs (${o.healthCheckIntervalMs}) is not below the server's timeout (${limits.timeout}s): idle lanes will be closed by the server`,
      );
  }
  return out;
}
