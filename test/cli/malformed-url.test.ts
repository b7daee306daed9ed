/**
 * A malformed URL given to the CLI (issue 10 defect 6): a password that was not
 * percent-encoded splits the URL in the wrong place, and the error the CLI prints names the
 * URL part at fault without quoting any of its text. No server is needed: parsing fails first.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from './run-cli.js';

const PW = 'CANARY-unencoded-7d41';

void test('redpool health --url with an unencoded password prints the part, never the text', async () => {
  for (const url of [`redis://u:6380/ab${PW}cd@127.0.0.1`, `redis://u:12?${PW}@127.0.0.1`, `redis://u:12#${PW}@127.0.0.1`]) {
    const r = await runCli(['health', '--url', url]);
    const all = `${r.stdout}\n${r.stderr}`;
    assert.notEqual(r.code, 0, all);
    assert.match(all, /url/);
    assert.ok(!all.includes(PW) && !all.includes(PW.slice(3, -3)), `printed part of the password:\n${all}`);
  }
});
