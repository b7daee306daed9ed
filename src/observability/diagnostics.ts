/**
 * `diagnostics_channel` channels. Each is published only when it has subscribers, and the
 * payload is built only then, so an unobserved pool pays one boolean check per event.
 * Channel names and payloads are listed in docs/diagnostics.md; payloads never hold keys,
 * arguments or secrets.
 */
import diagnostics from 'node:diagnostics_channel';

/** A command finished (shared lane or lease). `durationMs` covers routing, write and reply. */
export interface CommandMessage {
  pool: string;
  command: string;
  durationMs: number;
  /** 'lane' or 'lease'. */
  via: 'lane' | 'lease';
  /** Error code when it failed (e.g. ERR_REPLY, ERR_COMMAND_TIMEOUT), else undefined. */
  error: string | undefined;
}
/** A lease (or a lane wait) was granted after `waitedMs`. */
export interface AcquireMessage {
  pool: string;
  waitedMs: number;
}
/** A connection state transition of the pool's view (`prev -> next`). */
export interface ConnectionStateMessage {
  pool: string;
  id: number;
  role: string;
  prev: string;
  next: string;
}

export const channels = {
  command: diagnostics.channel('redpool:command'),
  acquire: diagnostics.channel('redpool:acquire'),
  connectionCreated: diagnostics.channel('redpool:connection:created'),
  connectionClosed: diagnostics.channel('redpool:connection:closed'),
  connectionError: diagnostics.channel('redpool:connection:error'),
  connectionState: diagnostics.channel('redpool:connection:state'),
  health: diagnostics.channel('redpool:health'),
  exhausted: diagnostics.channel('redpool:pool:exhausted'),
  leak: diagnostics.channel('redpool:lease:leak'),
} as const;
