/**
 * The layer's Lua scripts. Each one is atomic and takes its time from the server (`TIME`), so
 * capacity cannot be overshot by racing senders and expiry/ordering do not depend on the clocks
 * of the processes. Every key a script touches shares one hash tag (one Cluster slot), except
 * GROUP_DELIVER, whose keys are the members' lists (one call per node; see docs/channels.md).
 *
 * A stored element is `<id:16>:<server ms>:<envelope bytes>`; the id makes acknowledgements
 * idempotent (an ack pops the in-flight head only if it carries that id).
 */
import { createHash } from 'node:crypto';
import { isRedpoolError } from '../errors.js';

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000)))
`;
// Position 18 is where the timestamp starts: 16 id characters and a colon come first.
const TS = `
local function ts(v)
  local c = string.find(v, ':', 18, true)
  return tonumber(string.sub(v, 18, c - 1))
end
local function trim(key, cutoff)
  local n = 0
  while true do
    local v = redis.call('LINDEX', key, 0)
    if not v or ts(v) > cutoff then return n end
    redis.call('LPOP', key)
    n = n + 1
  end
end
`;
const ACK = `
local function ack(inflight, from)
  for i = from, #ARGV do
    local h = redis.call('LINDEX', inflight, 0)
    if h and string.sub(h, 1, 16) == ARGV[i] then redis.call('LPOP', inflight) end
  end
end
`;

/** KEYS: list. ARGV: id, envelope, capacity, expiryMs. → {1 added | 0 full, expired, now}. */
export const SEND = `${NOW}${TS}
local expired = trim(KEYS[1], now - tonumber(ARGV[4]))
if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[3]) then return {0, expired, now} end
redis.call('RPUSH', KEYS[1], ARGV[1] .. ':' .. now .. ':' .. ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {1, expired, now}`;

/**
 * KEYS: member lists. ARGV: expiryMs, id, shared envelope, then per key capacity and an envelope
 * ('' = the shared one). → {expired, {1 added | 0 full per key}}.
 */
export const GROUP_DELIVER = `${NOW}${TS}
local cutoff = now - tonumber(ARGV[1])
local expired = 0
local out = {}
for i, key in ipairs(KEYS) do
  expired = expired + trim(key, cutoff)
  local payload = ARGV[3 + 2 * i]
  if payload == '' then payload = ARGV[3] end
  if redis.call('LLEN', key) < tonumber(ARGV[2 + 2 * i]) then
    redis.call('RPUSH', key, ARGV[2] .. ':' .. now .. ':' .. payload)
    redis.call('PEXPIRE', key, ARGV[1])
    out[i] = 1
  else
    out[i] = 0
  end
end
return {expired, out}`;

/** KEYS: group. ARGV: channel, groupExpiryMs. Score = server time, so expiry needs no clock agreement. */
export const GROUP_ADD = `${NOW}
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return now`;

/** KEYS: group. ARGV: groupExpiryMs. Drops lapsed members. → {lapsed members, live members}. */
export const GROUP_MEMBERS = `${NOW}
local cutoff = now - tonumber(ARGV[1])
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff)
if #lapsed > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cutoff) end
return {lapsed, redis.call('ZRANGE', KEYS[1], 0, -1)}`;

/**
 * KEYS: list, in-flight. ARGV: max, expiryMs, ids to acknowledge…. Acks, then moves up to `max`
 * unexpired messages into the in-flight list and returns them. → {expired, now, {elements}}.
 */
export const PULL = `${NOW}${TS}${ACK}
ack(KEYS[2], 3)
local cutoff = now - tonumber(ARGV[2])
local expired = trim(KEYS[1], cutoff)
local out = {}
local max = tonumber(ARGV[1])
while #out < max do
  local v = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
  if not v then break end
  out[#out + 1] = v
end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return {expired, now, out}`;

/**
 * KEYS: list, in-flight. ARGV: expiryMs, ids to acknowledge…. Acks, then puts every remaining
 * in-flight message back at the head of the list, in order. → count restored.
 */
export const RESTORE = `${ACK}
ack(KEYS[2], 2)
local n = 0
while redis.call('LMOVE', KEYS[2], KEYS[1], 'RIGHT', 'LEFT') do n = n + 1 end
if n > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;

type Arg = string | Buffer | number;

/** What can run a script: the pool (shared lanes) or a lease. */
export interface ScriptTarget {
  callBuffer(command: string, args: Arg[]): Promise<unknown>;
}

/** A script with its SHA1: EVALSHA first, EVAL when the server does not know it (NOSCRIPT). */
export class Script {
  readonly source: string;
  readonly sha: string;
  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(target: ScriptTarget, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    try {
      return await target.callBuffer('EVALSHA', [this.sha, keys.length, ...keys, ...args]);
    } catch (err) {
      // A restarted or flushed server has forgotten the script: NOSCRIPT means it did not run.
      if (isRedpoolError(err) && err.code === 'ERR_REPLY' && (err as { prefix?: string }).prefix === 'NOSCRIPT')
        return target.callBuffer('EVAL', [this.source, keys.length, ...keys, ...args]);
      throw err;
    }
  }
}

export const scripts = {
  send: new Script(SEND),
  groupDeliver: new Script(GROUP_DELIVER),
  groupAdd: new Script(GROUP_ADD),
  groupMembers: new Script(GROUP_MEMBERS),
  pull: new Script(PULL),
  restore: new Script(RESTORE),
};
