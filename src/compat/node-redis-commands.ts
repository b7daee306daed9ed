/**
 * node-redis 5 argument and reply shapes for the commands whose shape differs from the plain
 * RESP form (camelCase names, option objects, `{ cursor, keys }` …). Anything not in the table
 * is sent as is (arrays flattened) under its lower- and upper-case name, as node-redis allows.
 */

/** One node-redis command: the Redis command, how its arguments become words, and its reply. */
export interface NodeRedisCommand {
  readonly command: string;
  readonly args?: (a: unknown[]) => unknown[];
  readonly reply?: (r: unknown) => unknown;
}

const flat = (a: unknown[]): unknown[] => a.flat(Infinity);

/** `set(k, v, { EX | PX | EXAT | PXAT | KEEPTTL | expiration, NX | XX | condition, GET })`. */
function setArgs(a: unknown[]): unknown[] {
  const [key, value, opts] = a as [unknown, unknown, Record<string, unknown> | undefined];
  const out: unknown[] = [key, value];
  if (opts && typeof opts === 'object') {
    const exp = opts.expiration as { type?: string; value?: number } | string | undefined;
    if (typeof exp === 'string')
      out.push(exp); // 'KEEPTTL'
    else if (exp && typeof exp === 'object' && exp.type) out.push(exp.type, exp.value);
    for (const k of ['EX', 'PX', 'EXAT', 'PXAT'] as const) if (opts[k] !== undefined) out.push(k, opts[k]);
    if (opts.KEEPTTL) out.push('KEEPTTL');
    const cond = opts.condition as string | undefined;
    if (cond) out.push(cond);
    if (opts.NX) out.push('NX');
    if (opts.XX) out.push('XX');
    if (opts.GET) out.push('GET');
  }
  return out;
}

/** `scan(cursor, { MATCH, COUNT, TYPE })` and the key-scans `hScan(key, cursor, …)`. */
function scanOpts(opts: Record<string, unknown> | undefined, out: unknown[]): unknown[] {
  if (opts?.MATCH !== undefined) out.push('MATCH', opts.MATCH);
  if (opts?.COUNT !== undefined) out.push('COUNT', opts.COUNT);
  if (opts?.TYPE !== undefined) out.push('TYPE', opts.TYPE);
  return out;
}

/** Pairs `[f1, v1, f2, v2]` → `{ f1: v1, … }` (RESP2 hash replies). */
function toObject(r: unknown): unknown {
  if (!Array.isArray(r)) return r;
  const o: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (let i = 0; i + 1 < r.length; i += 2) o[String(r[i])] = r[i + 1];
  return o;
}

/** `hSet(key, field, value)`, `hSet(key, { f: v })`, `hSet(key, [[f, v]])`, `hSet(key, Map)`. */
function hSetArgs(a: unknown[]): unknown[] {
  const [key, ...rest] = a;
  const first = rest[0];
  if (rest.length === 1 && first instanceof Map) return [key, ...[...first].flat()];
  if (rest.length === 1 && Array.isArray(first)) return [key, ...flat(first)];
  if (rest.length === 1 && typeof first === 'object' && first !== null && !Buffer.isBuffer(first))
    return [key, ...Object.entries(first).flat()];
  return [key, ...rest];
}

/** `zAdd(key, { score, value } | [{ score, value }], opts?)`. */
function zAddArgs(a: unknown[]): unknown[] {
  const [key, members, opts] = a as [unknown, unknown, Record<string, unknown> | undefined];
  const out: unknown[] = [key];
  if (opts?.condition) out.push(opts.condition);
  if (opts?.NX) out.push('NX');
  if (opts?.XX) out.push('XX');
  if (opts?.comparison) out.push(opts.comparison);
  if (opts?.CH) out.push('CH');
  for (const m of (Array.isArray(members) ? members : [members]) as Array<{ score: number; value: unknown }>) out.push(m.score, m.value);
  return out;
}

/** `eval(script, { keys, arguments })`, also for evalSha / fCall. */
function evalArgs(a: unknown[]): unknown[] {
  const [script, opts] = a as [unknown, { keys?: unknown[]; arguments?: unknown[] } | undefined];
  const keys = opts?.keys ?? [];
  return [script, keys.length, ...keys, ...(opts?.arguments ?? [])];
}

/** `expire(key, seconds, 'NX' | 'XX' | 'GT' | 'LT')`. */
const keyThen = (a: unknown[]): unknown[] => a.filter((x) => x !== undefined);

const T: Record<string, NodeRedisCommand> = {
  set: { command: 'set', args: setArgs },
  setEx: { command: 'setex' },
  pSetEx: { command: 'psetex' },
  setNX: { command: 'setnx' },
  getDel: { command: 'getdel' },
  getEx: {
    command: 'getex',
    args: ([k, o]) => {
      const opts = o as Record<string, unknown> | undefined;
      const out: unknown[] = [k];
      const exp = opts?.expiration as { type: string; value: number } | undefined;
      if (exp) out.push(exp.type, exp.value);
      for (const x of ['EX', 'PX', 'EXAT', 'PXAT'] as const) if (opts?.[x] !== undefined) out.push(x, opts[x]);
      if (opts?.PERSIST) out.push('PERSIST');
      return out;
    },
  },
  mGet: { command: 'mget', args: flat },
  mSet: {
    command: 'mset',
    args: (a) => (a.length === 1 && !Array.isArray(a[0]) && typeof a[0] === 'object' ? Object.entries(a[0] as object).flat() : flat(a)),
  },
  del: { command: 'del', args: flat },
  unlink: { command: 'unlink', args: flat },
  exists: { command: 'exists', args: flat },
  touch: { command: 'touch', args: flat },
  expire: { command: 'expire', args: keyThen },
  pExpire: { command: 'pexpire', args: keyThen },
  expireAt: { command: 'expireat', args: keyThen },
  pExpireAt: { command: 'pexpireat', args: keyThen },
  pTTL: { command: 'pttl' },
  incrBy: { command: 'incrby' },
  decrBy: { command: 'decrby' },
  incrByFloat: { command: 'incrbyfloat' },
  hSet: { command: 'hset', args: hSetArgs },
  hSetNX: { command: 'hsetnx' },
  hGet: { command: 'hget' },
  hmGet: { command: 'hmget', args: flat },
  hGetAll: { command: 'hgetall', reply: toObject },
  hDel: { command: 'hdel', args: flat },
  hExists: { command: 'hexists' },
  hIncrBy: { command: 'hincrby' },
  hKeys: { command: 'hkeys' },
  hVals: { command: 'hvals' },
  hLen: { command: 'hlen' },
  sAdd: { command: 'sadd', args: flat },
  sRem: { command: 'srem', args: flat },
  sMembers: { command: 'smembers' },
  sIsMember: { command: 'sismember' },
  sCard: { command: 'scard' },
  lPush: { command: 'lpush', args: flat },
  rPush: { command: 'rpush', args: flat },
  lPop: { command: 'lpop' },
  rPop: { command: 'rpop' },
  lRange: { command: 'lrange' },
  lLen: { command: 'llen' },
  lTrim: { command: 'ltrim' },
  zAdd: { command: 'zadd', args: zAddArgs },
  zRem: { command: 'zrem', args: flat },
  zScore: { command: 'zscore', reply: (r) => (r === null ? null : Number(r)) },
  zCard: { command: 'zcard' },
  zRange: { command: 'zrange' },
  zRangeByScore: { command: 'zrangebyscore' },
  zRemRangeByScore: { command: 'zremrangebyscore' },
  flushDb: { command: 'flushdb' },
  flushAll: { command: 'flushall' },
  dbSize: { command: 'dbsize' },
  configGet: { command: 'config', args: (a) => ['GET', ...a], reply: toObject },
  configSet: {
    command: 'config',
    args: ([k, v]) => (typeof k === 'object' && k !== null ? ['SET', ...Object.entries(k).flat()] : ['SET', k, v]),
  },
  clientId: { command: 'client', args: () => ['ID'] },
  clientList: { command: 'client', args: () => ['LIST'] },
  eval: { command: 'eval', args: evalArgs },
  evalSha: { command: 'evalsha', args: evalArgs },
  evalRo: { command: 'eval_ro', args: evalArgs },
  evalShaRo: { command: 'evalsha_ro', args: evalArgs },
  fCall: { command: 'fcall', args: evalArgs },
  scriptLoad: { command: 'script', args: (a) => ['LOAD', ...a] },
  scan: {
    command: 'scan',
    args: ([cursor, opts]) => scanOpts(opts as Record<string, unknown> | undefined, [String(cursor)]),
    reply: (r) => ({ cursor: String((r as unknown[])[0]), keys: (r as unknown[])[1] }),
  },
  hScan: {
    command: 'hscan',
    args: ([key, cursor, opts]) => scanOpts(opts as Record<string, unknown> | undefined, [key, String(cursor)]),
    reply: (r) => {
      const items = (r as unknown[])[1] as unknown[];
      const entries: Array<{ field: unknown; value: unknown }> = [];
      for (let i = 0; i + 1 < items.length; i += 2) entries.push({ field: items[i], value: items[i + 1] });
      return { cursor: String((r as unknown[])[0]), entries };
    },
  },
  sScan: {
    command: 'sscan',
    args: ([key, cursor, opts]) => scanOpts(opts as Record<string, unknown> | undefined, [key, String(cursor)]),
    reply: (r) => ({ cursor: String((r as unknown[])[0]), members: (r as unknown[])[1] }),
  },
  pubSubChannels: { command: 'pubsub', args: (a) => ['CHANNELS', ...a] },
  sPublish: { command: 'spublish' },
};

/** The node-redis command table (camelCase name → shape). */
export const NODE_REDIS_COMMANDS: Readonly<Record<string, NodeRedisCommand>> = T;
