/**
 * The README's code, run as a new user would run it: in a new project folder that installed the
 * packed tarball (issue 15: "the README quick start, copied into a new project folder with a
 * packed tarball, runs as written"), so the README cannot rot. Blocks are marked in the README
 * with `<!-- readme-test: NAME … -->` on the line before the fence:
 * - `quick-start` (sh): every command line runs through `sh` in the project folder. `npx
 *   redpool …` resolves the installed bin; the one change is a 1 s `--duration` for `bench`
 *   (10 s by default) on this shared machine.
 * - `service` (ts): compiled with TypeScript (`strict`, module `nodenext`) against the
 *   installed package's types, then run with `REDIS_URL` set to a throwaway redis-server.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { withRedis } from '../helpers/redis.js';
import { ROOT, run, tarballApp, type TarballApp } from './tarball-app.js';

interface Block {
  name: string;
  lang: string;
  code: string;
}

/** The marked blocks of `file` (relative to the checkout). */
function markedBlocks(file: string): Block[] {
  const readme = readFileSync(path.join(ROOT, file), 'utf8');
  const out: Block[] = [];
  for (const m of readme.matchAll(/<!-- readme-test: ([\w-]+)[^>]*-->\n```(\w+)\n([\s\S]*?)\n```/g)) {
    out.push({ name: m[1]!, lang: m[2]!, code: m[3]! });
  }
  return out;
}

function block(name: string, file = 'README.md'): Block {
  const b = markedBlocks(file).find((x) => x.name === name);
  assert.ok(b, `${file} has a block marked <!-- readme-test: ${name} -->`);
  return b;
}

/** Compiles `files` of the project with TypeScript (strict, nodenext) against the installed types. */
async function typecheck(cwd: string, files: string[]): Promise<void> {
  writeFileSync(
    path.join(cwd, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        lib: ['es2022', 'esnext.disposable'],
        types: ['node'],
        skipLibCheck: true,
      },
      files,
    }),
  );
  const tsc = await run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', cwd], cwd, 60_000);
  assert.equal(tsc.code, 0, `tsc:\n${tsc.out}`);
}

void describe('the README, from a tarball install', () => {
  let app: TarballApp | undefined;
  before(() => {
    app = tarballApp();
  });
  after(() => app?.remove());
  const dir = (): string => {
    assert.ok(app, 'the tarball app exists');
    return app.dir;
  };

  void test('the quick start runs as written', { timeout: 120_000 }, async () => {
    const b = block('quick-start');
    assert.equal(b.lang, 'sh');
    const commands = b.code
      .split('\n')
      .map((l) => l.replace(/(^|\s+)#.*$/, '').trim())
      .filter((l) => l !== '');
    assert.ok(commands.length > 0, 'the quick start has a command');
    for (const command of commands) {
      assert.match(command, /^npx redpool /, 'quick-start commands are npx redpool …');
      const line = /^npx redpool bench\b/.test(command) && !/--duration|--ops/.test(command) ? `${command} --duration 1` : command;
      const r = await run('sh', ['-c', line], dir(), 90_000);
      assert.equal(r.code, 0, `${line}\n${r.out}`);
      if (/^npx redpool bench\b/.test(command)) {
        assert.match(r.out, /starting a throwaway redis-server/, 'no URL: the embedded server');
        assert.match(r.stdout, /ops\/s/, `bench printed its table:\n${r.out}`);
      }
    }
  });

  void test('the service snippet type-checks against the installed types and runs', { timeout: 120_000 }, async (t) => {
    const b = block('service');
    assert.equal(b.lang, 'ts');
    const cwd = dir();
    writeFileSync(path.join(cwd, 'service.ts'), `${b.code}\n`);
    await typecheck(cwd, ['service.ts']);

    const server = await withRedis(t);
    // What the snippet reads: a job for its BLPOP (else it waits 5 s) and a stock counter.
    await server.command('RPUSH', 'jobs', 'job-1');
    await server.command('SET', 'stock', '10');
    const r = await run(process.execPath, ['service.js'], cwd, 30_000, { REDIS_URL: server.url });
    assert.equal(r.code, 0, r.out);
    assert.ok(Number(await server.command('DBSIZE')) > 0, 'the snippet wrote to Redis');
    assert.equal(await server.command('LLEN', 'jobs'), 0, 'BLPOP took the job');
  });

  void test('the lease examples of docs/concepts.md type-check and run', { timeout: 120_000 }, async (t) => {
    const b = block('leases', 'docs/concepts.md');
    assert.equal(b.lang, 'ts');
    const cwd = dir();
    const prelude = "import { createPool } from 'redpool';\nconst pool = createPool(process.env.REDIS_URL);\n";
    writeFileSync(path.join(cwd, 'concepts.ts'), `${prelude}${b.code}\nconsole.log('left', JSON.stringify(left));\nawait pool.close();\n`);
    await typecheck(cwd, ['concepts.ts']);
    const server = await withRedis(t);
    await server.command('SET', 'stock', '3');
    const r = await run(process.execPath, ['concepts.js'], cwd, 30_000, { REDIS_URL: server.url });
    assert.equal(r.code, 0, r.out);
    assert.equal(await server.command('GET', 'stock'), '2', 'the WATCH/MULTI example decremented stock');
    assert.match(r.stdout, /^left \[\[null,"OK"\]\]$/m);
    assert.equal(await server.command('GET', 'k'), null, 'the SELECTed write is not in db 0');
    assert.match(String(await server.command('INFO', 'keyspace')), /^db2:keys=1,/m, 'the await using example wrote to db 2');
  });
});
