/**
 * Two OS processes exchange 10,000 messages over 100 channels (50 each way) and each sends to a
 * group holding process-local channels of both: 0 lost, 0 duplicated, per-channel order kept.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { createPool } from '../../../src/index.js';
import { createChannelLayer } from '../../../src/channels/index.js';
import { useRedis } from '../../helpers/redis.js';
import { exchange, join, type ExchangeResult, type ExchangeSpec } from './peer.js';

const PEER = fileURLToPath(new URL('./peer.js', import.meta.url));

void describe('two processes', () => {
  const server = useRedis();

  void test('10,000 messages over 100 channels and a group: 0 lost, 0 duplicated, in order', { timeout: 120_000 }, async () => {
    const base = { channels: 50, perChannel: 100, locals: 5, groupMessages: 200 };
    const prefix = 'two';
    const pool = createPool({ url: server().url, max: 20, name: 'parent' });
    after(() => pool.close());
    const layer = createChannelLayer(pool, { prefix, capacity: 1000, blockMs: 200 });
    after(() => layer.close());
    const mine = await join(layer, base.locals);

    const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: server().url, SPEC: JSON.stringify({ ...base, side: 'b', prefix }) };
    delete env['NODE_TEST_CONTEXT'];
    const proc = spawn(process.execPath, [PEER], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    after(() => {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    });
    let out = '';
    const lineSeen = (re: RegExp): Promise<RegExpExecArray> =>
      new Promise((resolve, reject) => {
        const onData = (): void => {
          const m = re.exec(out);
          if (m) {
            proc.stdout.off('data', onData);
            resolve(m);
          }
        };
        proc.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          onData();
        });
        proc.once('exit', (code) => reject(new Error(`peer exited (${code}) before ${re}: ${out}`)));
      });
    const joined = lineSeen(/^joined$/m);
    const resultLine = lineSeen(/^result (.*)$/m);
    resultLine.catch(() => {}); // awaited below; an early exit also rejects `joined`
    await joined;
    assert.equal((await layer.groupMembers('everyone')).length, base.locals * 2);
    proc.stdin.write('go\n');
    const spec: ExchangeSpec = { ...base, side: 'a' };
    const [mineResult, theirs] = await Promise.all([exchange(layer, spec, mine, 90_000), resultLine]);
    const childResult = JSON.parse(theirs[1]!) as ExchangeResult;
    for (const [who, r] of [
      ['parent', mineResult],
      ['child', childResult],
    ] as const) {
      assert.equal(r.lost, 0, `${who}: lost`);
      assert.equal(r.duplicated, 0, `${who}: duplicated`);
      assert.equal(r.outOfOrder, 0, `${who}: out of order`);
      assert.equal(r.received, base.channels * base.perChannel, `${who}: point-to-point received`);
      assert.equal(r.groupReceived, base.locals * base.groupMessages * 2, `${who}: group received`);
    }
    await new Promise((resolve) => (proc.exitCode === null ? proc.once('exit', resolve) : resolve(null)));
    assert.equal(proc.exitCode, 0);
  });
});
