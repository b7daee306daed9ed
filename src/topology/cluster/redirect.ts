/**
 * Cluster error replies that prove a command did not run: `MOVED`/`ASK` redirections (parsed
 * into slot + address) and `TRYAGAIN`/`CLUSTERDOWN`/`MASTERDOWN`/`LOADING`/`READONLY`. All of
 * them are safe to retry for any command, within the caller's deadline.
 */
import { SLOT_COUNT } from './keys.js';

/** A parsed `MOVED slot host:port` or `ASK slot host:port` reply. */
export interface Redirect {
  kind: 'moved' | 'ask';
  slot: number;
  /** Announced host; `''` when the server does not know its own address (use the replying node's host). */
  host: string;
  port: number;
}

/**
 * Parses a redirection error line (with or without a leading `-`). Returns `undefined` for any
 * other reply and for a malformed one: a slot outside 0–16383 or a bad port is never trusted
 * (a slot index comes from the network and addresses a table).
 *
 * IPv6 hosts keep their colons: the port is after the last one (`MOVED 1 ::1:7000`).
 */
export function parseRedirect(message: string): Redirect | undefined {
  const m = /^-?(MOVED|ASK) (\d{1,5}) (\S*):(\d{1,5})\s*$/.exec(message);
  if (!m) return undefined;
  const slot = Number(m[2]);
  const port = Number(m[4]);
  if (slot >= SLOT_COUNT || port < 1 || port > 65535) return undefined;
  let host = m[3] ?? '';
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { kind: m[1] === 'MOVED' ? 'moved' : 'ask', slot, host, port };
}

/** The class of a cluster-related error reply; see {@link clusterReplyKind}. */
export type ClusterReplyKind = 'moved' | 'ask' | 'tryagain' | 'clusterdown' | 'masterdown' | 'loading' | 'readonly';

const PREFIXES: Record<string, ClusterReplyKind> = {
  MOVED: 'moved',
  ASK: 'ask',
  TRYAGAIN: 'tryagain',
  CLUSTERDOWN: 'clusterdown',
  MASTERDOWN: 'masterdown',
  LOADING: 'loading',
  READONLY: 'readonly',
};

/**
 * Classifies an error reply by its first word: each returned kind means "the command did not
 * run" (retry after a redirect, a refresh or a backoff); `undefined` means it is not a
 * cluster/failover reply and the ordinary reply rules apply.
 */
export function clusterReplyKind(message: string): ClusterReplyKind | undefined {
  const word = /^-?(\S+)/.exec(message)?.[1] ?? '';
  return Object.hasOwn(PREFIXES, word) ? PREFIXES[word] : undefined;
}
