/**
 * The retry decision table: what may run again and how. A command is retried only where it
 * provably did not run, where running it twice cannot change data (read-only), or where the
 * caller marked it idempotent.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AcquireTimeoutError,
  AuthError,
  CommandTimeoutError,
  ConnectionError,
  LeaseRequiredError,
  NOT_EXECUTED_REPLIES,
  PoolClosedError,
  ReplyError,
  retryDecision,
  UnavailableError,
  type CommandOutcome,
  type PoolSnapshot,
  type RedpoolError,
  type RetryDecision,
} from '../../src/index.js';

const SNAP: PoolSnapshot = { total: 1, idle: 0, busy: 1, lanes: 1, leased: 0, connecting: 0, pending: 0 };

const conn = (outcome: CommandOutcome): RedpoolError => new ConnectionError('connection lost', outcome);
const timeout = (outcome: CommandOutcome): RedpoolError => new CommandTimeoutError('X', 100, outcome, SNAP);
const reply = (text: string): RedpoolError => new ReplyError(text, 'X');

type Row = [label: string, command: string, error: RedpoolError, idempotent: boolean, expected: RetryDecision];

const TABLE: Row[] = [
  // Not written: always safe, at once on another connection.
  ['connection, not sent, write', 'incr', conn('not-sent'), false, 'now'],
  ['connection, not sent, read', 'get', conn('not-sent'), false, 'now'],
  ['timeout, not sent, write', 'set', timeout('not-sent'), false, 'now'],
  // Written, no reply: only reads and calls marked idempotent.
  ['connection, unknown, write', 'incr', conn('unknown'), false, 'no'],
  ['connection, unknown, write, idempotent', 'incr', conn('unknown'), true, 'now'],
  ['connection, unknown, read-only', 'get', conn('unknown'), false, 'now'],
  ['connection, unknown, read-only (hgetall)', 'hgetall', conn('unknown'), false, 'now'],
  ['timeout, unknown, write', 'set', timeout('unknown'), false, 'no'],
  ['timeout, unknown, write, idempotent', 'set', timeout('unknown'), true, 'now'],
  ['timeout, unknown, read-only', 'mget', timeout('unknown'), false, 'now'],
  ['timeout, unknown, transaction', 'exec', timeout('unknown'), false, 'no'],
  ['timeout, unknown, pipeline', 'pipeline', timeout('unknown'), false, 'no'],
  ['connection, unknown, blocking read (blpop is not read-only)', 'blpop', conn('unknown'), false, 'no'],
  ['connection, unknown, eval (may write)', 'eval', conn('unknown'), false, 'no'],
  ['connection, unknown, unknown command', 'frobnicate', conn('unknown'), false, 'no'],
  // Replies that mean "not executed": after a backoff, even for writes.
  ...[...NOT_EXECUTED_REPLIES].map((p): Row => [`reply ${p}, write`, 'incr', reply(`${p} try later`), false, 'backoff']),
  // Other replies: the command ran (and failed); never retried.
  ['reply ERR', 'get', reply('ERR syntax error'), false, 'no'],
  ['reply WRONGTYPE, idempotent', 'get', reply('WRONGTYPE Operation against a key'), true, 'no'],
  ['reply NOSCRIPT', 'evalsha', reply('NOSCRIPT No matching script'), false, 'no'],
  ['reply MOVED (cluster layer handles it)', 'get', reply('MOVED 3999 127.0.0.1:6381'), false, 'no'],
  // Errors that are not about the command: never retried here.
  ['pool closed', 'get', new PoolClosedError(), true, 'no'],
  ['acquire timeout', 'get', new AcquireTimeoutError(5, SNAP), true, 'no'],
  ['unavailable', 'get', new UnavailableError('down'), true, 'no'],
  ['auth', 'get', new AuthError('WRONGPASS'), true, 'no'],
  ['lease required', 'select', new LeaseRequiredError('SELECT'), true, 'no'],
];

void describe('retryDecision', () => {
  for (const [label, command, error, idempotent, expected] of TABLE) {
    void test(`${label} → ${expected}`, () => {
      assert.equal(retryDecision({ command, error, idempotent }), expected);
    });
  }

  void test('the not-executed reply set is exactly the documented one', () => {
    assert.deepEqual([...NOT_EXECUTED_REPLIES].sort(), [
      'BUSY',
      'CLUSTERDOWN',
      'LOADING',
      'MASTERDOWN',
      'NOREPLICAS',
      'READONLY',
      'TRYAGAIN',
    ]);
  });

  void test('the decision depends on the reply prefix, not on the message text', () => {
    assert.equal(retryDecision({ command: 'set', error: reply('ERR LOADING is a word here'), idempotent: false }), 'no');
  });

  void test('pure: same input, same answer, input untouched', () => {
    const error = new ConnectionError('connection lost', 'unknown');
    const input = Object.freeze({ command: 'get', error, idempotent: false });
    assert.equal(retryDecision(input), retryDecision(input));
    assert.equal(error.outcome, 'unknown');
  });
});
