/**
 * Address translation for clusters behind NAT or in containers: nodes announce addresses the
 * client cannot reach (redis/node-redis#2815), so every announced `host:port` passes through the
 * user's `natMap` before it is dialled. Node identity stays the node id, never the address.
 */
import { ConfigError } from '../../errors.js';

/** A node address. */
export interface NodeAddress {
  host: string;
  port: number;
}

/**
 * `natMap` option: an object keyed by the announced `"host:port"`, or a function that returns
 * the address to dial (or `undefined` to dial the announced one).
 */
export type NatMap = Readonly<Record<string, NodeAddress>> | ((announced: NodeAddress) => NodeAddress | undefined);

function checkAddress(option: string, value: unknown): NodeAddress {
  const v = value as Partial<NodeAddress> | null;
  if (typeof v !== 'object' || v === null || typeof v.host !== 'string' || v.host === '') {
    throw new ConfigError(option, 'must be { host: string, port: number }');
  }
  if (!Number.isInteger(v.port) || (v.port as number) < 1 || (v.port as number) > 65535) {
    throw new ConfigError(option, 'port must be an integer 1–65535');
  }
  return { host: v.host, port: v.port as number };
}

/**
 * Validates a `natMap` option (throws {@link ConfigError} naming `cluster.natMap…`) and returns
 * the translation function: announced address → address to dial.
 */
export function compileNatMap(natMap: unknown, option = 'cluster.natMap'): (announced: NodeAddress) => NodeAddress {
  if (natMap === undefined) return (a) => a;
  if (typeof natMap === 'function') {
    const fn = natMap as (a: NodeAddress) => unknown;
    return (announced) => {
      const out = fn({ ...announced });
      return out === undefined ? announced : checkAddress(`${option}(${announced.host}:${announced.port})`, out);
    };
  }
  if (typeof natMap !== 'object' || natMap === null || Array.isArray(natMap)) {
    throw new ConfigError(option, 'must be an object keyed by "host:port" or a function');
  }
  const table = new Map<string, NodeAddress>();
  for (const [key, value] of Object.entries(natMap)) {
    if (!/^.+:\d{1,5}$/.test(key)) throw new ConfigError(`${option}`, `key ${JSON.stringify(key)} is not "host:port"`);
    table.set(key, checkAddress(`${option}["${key}"]`, value));
  }
  return (announced) => table.get(`${announced.host}:${announced.port}`) ?? announced;
}
