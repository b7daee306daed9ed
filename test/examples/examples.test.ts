/**
 * Runs every example as a user would (`node build/examples/<name>.js`): once standalone (no
 * REDIS_URL: the example starts and stops its own throwaway redis-server) and once against a
 * server given by REDIS_URL. Each must finish its bounded self-check, print "self-check: ok"
 * and exit 0 within the deadline, and never print a password.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { withRedis } from '../helpers/redis.js';

const EXAMPLES = ['express-app', 'fastify-app', 'worker', 'cache-basic', 'socket-io'] as const;
const dir = fileURLToPath(new URL('../../examples/', import.meta.url));

function run(name: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [`${dir}${name}.js`], { env, timeout: 60_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['REDIS_URL'];
  delete env['DEPLOYMENT_ENV'];
  delete env['NODE_TEST_CONTEXT']; // the child is a program, not a test file
  return env;
}

void describe('examples', { concurrency: false }, () => {
  for (const name of EXAMPLES) {
    void test(`${name}: standalone with a throwaway redis-server`, { timeout: 90_000 }, async () => {
      assert.ok(existsSync(`${dir}${name}.js`), `build/examples/${name}.js exists (run tsc first)`);
      const r = await run(name, baseEnv());
      assert.equal(r.code, 0, `exit code\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
      assert.match(r.stdout, /^self-check: ok$/m);
      assert.doesNotMatch(r.stdout, /^FAIL/m);
    });

    void test(`${name}: against REDIS_URL (with a password)`, { timeout: 90_000 }, async (t) => {
      const password = 'example-canary-Pw-271828';
      const server = await withRedis(t, { requirepass: password });
      const r = await run(name, { ...baseEnv(), REDIS_URL: server.urlWithPassword() });
      assert.equal(r.code, 0, `exit code\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
      assert.match(r.stdout, /^self-check: ok$/m);
      assert.ok(r.stdout.includes(`127.0.0.1:${server.port}`), 'used the given server');
      assert.ok(!`${r.stdout}${r.stderr}`.includes(password), 'the password is never printed');
      const keys = await server.command('KEYS', 'example:*');
      assert.deepEqual(keys, [], 'the example cleaned up its keys');
    });
  }
});
