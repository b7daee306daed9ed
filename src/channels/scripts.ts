/**
 * The layer's Lua scripts. Each one is atomic and takes its time from the server (`TIME`), so
 * capacity cannot be overshot by racing senders and expiry/ordering do not depend on the clocks
 * of the processes. Every key a script touches shares one hash tag (one Cluster slot), except
 * DELIVER, whose keys are many channels' lists (the layer calls it once per slot; see deliver.ts).
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
// Pops each id in turn if it is the in-flight head: over one LRANGE of the head, then one LTRIM.
const ACK = `
local function ack(inflight, ids)
  local n = math.floor(#ids / 16)
  if n < 1 then return end
  local head = redis.call('LRANGE', inflight, 0, n - 1)
  local k = 0
  for i = 1, #ids, 16 do
    local h = head[k + 1]
    if h and string.sub(h, 1, 16) == string.sub(ids, i, i + 15) then k = k + 1 end
  end
  if k > 0 then redis.call('LTRIM', inflight, k, -1) end
end
`;

/**
 * Stores messages, each atomically checked against its list's capacity: one call for many sends
 * (the layer coalesces concurrent sends) and for a group send's members (one call per slot).
 * KEYS: lists (a list may repeat: its messages are stored in order). ARGV: expiryMs, the distinct
 * envelopes concatenated and their byte lengths (comma-separated), then the ids (concatenated, 16
 * characters each), the capacities and the 1-based envelope indexes (each comma-separated), in
 * key order: six arguments in all, not several per key (one Buffer argument per envelope made
 * the request a writev of hundreds of pieces).
 * Guards (group sends on a cached member plan, one endpoint only): G more KEYS after the lists
 * (group keys) and ARGV: G, groupExpiryMs, each list's 1-based guard (comma-separated, 0: none),
 * then per guard the planned members ('\n'-separated). A guard first drops lapsed members (as
 * GROUP_MEMBERS does); it holds when none lapsed and the live members are the planned set. The
 * lists of a guard that does not hold get nothing (2).
 * → {expired, now, {1 added | 0 full | 2 guard failed per list}, {0 held | {lapsed, live} per guard}}.
 */
export const DELIVER = `${NOW}${TS}
local cutoff = now - tonumber(ARGV[1])
local blob = ARGV[2]
local payloads = {}
local off = 1
for l in string.gmatch(ARGV[3], '%d+') do
  local n = tonumber(l)
  payloads[#payloads + 1] = string.sub(blob, off, off + n - 1)
  off = off + n
end
local ids = ARGV[4]
local caps = {}
for c in string.gmatch(ARGV[5], '%d+') do caps[#caps + 1] = tonumber(c) end
local which = {}
for w in string.gmatch(ARGV[6], '%d+') do which[#which + 1] = tonumber(w) end
local g = tonumber(ARGV[7] or '0')
local n = #KEYS - g
local held = {}
local guards = {}
local gidx = {}
if g > 0 then
  local gcut = now - tonumber(ARGV[8])
  for x in string.gmatch(ARGV[9], '%d+') do gidx[#gidx + 1] = tonumber(x) end
  for j = 1, g do
    local gk = KEYS[n + j]
    local lapsed = redis.call('ZRANGEBYSCORE', gk, '-inf', gcut)
    if #lapsed > 0 then redis.call('ZREMRANGEBYSCORE', gk, '-inf', gcut) end
    local live = redis.call('ZRANGE', gk, 0, -1)
    local ok = #lapsed == 0
    if ok then
      local want = {}
      local count = 0
      for m in string.gmatch(ARGV[9 + j], '[^\\n]+') do
        want[m] = true
        count = count + 1
      end
      ok = count == #live
      for _, m in ipairs(live) do
        if not want[m] then ok = false end
      end
    end
    held[j] = ok
    guards[j] = ok and 0 or {lapsed, live}
  end
end
local expired = 0
local out = {}
-- Per list: trimmed and measured once (time stands still inside a script), then its new
-- elements pushed together, in order.
local len = {}
local pushes = {}
local order = {}
for i = 1, n do
  local key = KEYS[i]
  if g > 0 and gidx[i] > 0 and not held[gidx[i]] then
    out[i] = 2
  else
    if not len[key] then
      expired = expired + trim(key, cutoff)
      len[key] = redis.call('LLEN', key)
      pushes[key] = {}
      order[#order + 1] = key
    end
    if len[key] < caps[i] then
      local p = pushes[key]
      p[#p + 1] = string.sub(ids, 16 * i - 15, 16 * i) .. ':' .. now .. ':' .. payloads[which[i]]
      len[key] = len[key] + 1
      out[i] = 1
    else
      out[i] = 0
    end
  end
end
for _, key in ipairs(order) do
  local p = pushes[key]
  if #p > 0 then
    for from = 1, #p, 1000 do redis.call('RPUSH', key, unpack(p, from, math.min(from + 999, #p))) end
    redis.call('PEXPIRE', key, ARGV[1])
  end
end
return {expired, now, out, guards}`;

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

// Puts one in-flight list back at the head of its channel, in order.
const UNDO = `
local function undo(list, inflight)
  local n = 0
  while redis.call('LMOVE', inflight, list, 'RIGHT', 'LEFT') do n = n + 1 end
  return n
end
`;

/**
 * One read round trip of a reader. KEYS: list, in-flight, readers (hash: process id → lease end,
 * server ms). ARGV: max, expiryMs, capacity, leaseMs (0: no lease, the process-local list),
 * session (1: first pull of a session), process id, room channel ('' = none), ids to
 * acknowledge (concatenated, 16 characters each: one argument, not one per id).
 *
 * With a lease: first every reader whose lease lapsed (a crashed process) has its in-flight list
 * put back at the head of the channel, in order (its keys share the channel's hash tag, so they
 * are in this slot), and its entry becomes a tombstone for `expiryMs` (negative: minus its end),
 * so what a blocking pop of a merely stalled reader moves in later goes back too. If this reader's own lease is gone although its session continues, another
 * reader reclaimed its in-flight list: what it still holds goes back too and the reply says
 * `lost`, so the reader drops its buffer instead of handing it out. Then the acknowledgements
 * (skipped when lost: those messages are back in the channel), the lease is renewed, and up to
 * `max` unexpired messages move into the in-flight list. A pop from a full channel publishes the
 * list's key on the room channel, which wakes senders waiting for room.
 * → {expired, now, {elements}, reclaimed, lost}.
 */
export const PULL = `${NOW}${TS}${ACK}${UNDO}
local lease = tonumber(ARGV[4])
local reclaimed = 0
local lost = 0
if lease > 0 then
  local all = redis.call('HGETALL', KEYS[3])
  local mine = false
  for i = 1, #all, 2 do
    local v = tonumber(all[i + 1])
    if all[i] == ARGV[6] then
      mine = v > 0
    elseif v > 0 and v < now then
      reclaimed = reclaimed + undo(KEYS[1], KEYS[1] .. ':inflight:' .. all[i])
      -- A tombstone (minus its end) instead of nothing: a blocking pop of the stalled reader
      -- that lands after this still goes back (below), and the reader learns it was reclaimed.
      redis.call('HSET', KEYS[3], all[i], -(now + tonumber(ARGV[2])))
    elseif v < 0 then
      reclaimed = reclaimed + undo(KEYS[1], KEYS[1] .. ':inflight:' .. all[i])
      if -v < now then redis.call('HDEL', KEYS[3], all[i]) end
    end
  end
  if not mine and ARGV[5] == '0' then
    lost = 1
    reclaimed = reclaimed + undo(KEYS[1], KEYS[2])
  end
  if reclaimed > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
  redis.call('HSET', KEYS[3], ARGV[6], now + lease)
  redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[2]) + lease)
end
if lost == 0 then ack(KEYS[2], ARGV[8]) end
local cutoff = now - tonumber(ARGV[2])
local expired = trim(KEYS[1], cutoff)
local before = redis.call('LLEN', KEYS[1])
-- Up to max from the head into the in-flight list, in order: one LRANGE, one LTRIM, RPUSHes.
local out = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #out > 0 then
  redis.call('LTRIM', KEYS[1], #out, -1)
  for from = 1, #out, 1000 do redis.call('RPUSH', KEYS[2], unpack(out, from, math.min(from + 999, #out))) end
end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
if #out > 0 and ARGV[7] ~= '' and before >= tonumber(ARGV[3]) then redis.call('PUBLISH', ARGV[7], KEYS[1]) end
return {expired, now, out, reclaimed, lost}`;

/**
 * A reader stops: KEYS: list, in-flight, readers. ARGV: expiryMs, process id, ids to acknowledge
 * (concatenated, 16 characters each).
 * Acks, puts every remaining in-flight message back at the head of the list, in order, and ends
 * the reader's lease. → count restored.
 */
export const RESTORE = `${ACK}${UNDO}
ack(KEYS[2], ARGV[3])
local n = undo(KEYS[1], KEYS[2])
if n > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
redis.call('HDEL', KEYS[3], ARGV[2])
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
  deliver: new Script(DELIVER),
  groupAdd: new Script(GROUP_ADD),
  groupMembers: new Script(GROUP_MEMBERS),
  pull: new Script(PULL),
  restore: new Script(RESTORE),
};
