/**
 * The reference document's django-redis cache on redpool: JSON values, zlib (deflate) above
 * 100 bytes, key prefix, 300 s default TTL, and IGNORE_EXCEPTIONS (fail-open) — plus what
 * django-redis does not do: stampede-proof getOrSet, batched reads, typed values, counters.
 * Imports the package by name, as an application would (build it first: `npm run build`).
 *
 *   npm run build && npx tsc -p tsconfig.json && node build/examples/cache-basic.js
 *   REDIS_URL=redis://127.0.0.1:6379 node build/examples/cache-basic.js
 *
 * Without REDIS_URL a throwaway redis-server is started (and stopped at the end). The run is a
 * bounded self-check: it prints "self-check: ok" and exits 0 when every step behaved.
 */
import { createPool } from 'redpool';
import { createCache } from 'redpool/cache';
import { startRedisServer } from 'redpool/testing';

const embedded = process.env['REDIS_URL'] ? undefined : await startRedisServer();
const url = process.env['REDIS_URL'] ?? embedded!.url;
const pool = createPool({ url, name: 'cache-example', max: 8, lanes: 2 });
await pool.ready();
console.log(`Redis ${pool.options.endpoint}`);

// CACHES["default"] of the reference document, option by option (docs/cache.md maps them all).
const cache = createCache(pool, {
  prefix: `example:cache:${process.pid}`, // KEY_PREFIX
  defaultTtlMs: 300_000, //                  TIMEOUT 300
  serializer: 'json', //                     SERIALIZER JSONSerializer
  compression: { algorithm: 'deflate', minBytes: 100 }, // COMPRESSOR ZlibCompressor, COMPRESS_MIN_LENGTH
  failOpen: true, //                         IGNORE_EXCEPTIONS
  timeoutMs: 500,
});

let failures = 0;
function check(ok: boolean, what: string): void {
  if (!ok) failures++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
}

interface Project {
  id: number;
  name: string;
  updatedAt: Date;
  tags: Set<string>;
  notes: string;
}

try {
  const project: Project = {
    id: 7,
    name: 'Kibray HQ',
    updatedAt: new Date(),
    tags: new Set(['remodel', 'kitchen']),
    notes: 'lorem ipsum '.repeat(100),
  };
  await cache.set('project:7', project);
  const back = await cache.get<Project>('project:7');
  check(
    back?.updatedAt instanceof Date && back.tags.has('kitchen') && back.notes === project.notes,
    'typed round trip (Date and Set kept)',
  );
  const stored = await pool.strlen(`${cache.options.prefix}:project:7`);
  check(stored < JSON.stringify({ ...project, tags: [...project.tags] }).length / 3, `compressed in Redis: ${stored} bytes stored`);

  let computed = 0;
  const dashboards = await Promise.all(
    Array.from({ length: 100 }, () =>
      cache.getOrSet(
        'dashboard:7',
        async () => {
          computed++;
          await new Promise((r) => setTimeout(r, 50)); // the expensive query
          return { openTasks: 12, budgetUsed: 0.64 };
        },
        { ttlMs: 60_000, softTtlMs: 30_000 },
      ),
    ),
  );
  check(computed === 1 && dashboards.every((d) => d.openTasks === 12), `100 concurrent getOrSet: factory ran ${computed} time(s)`);

  await cache.set('views:7', 0);
  await Promise.all(Array.from({ length: 50 }, () => cache.incr('views:7')));
  check((await cache.get('views:7')) === 50, 'integers stay raw: 50 atomic INCRs');

  const [p, missing, views] = await cache.getMany(['project:7', 'nope', 'views:7']);
  check((p as Project | undefined)?.id === 7 && missing === undefined && views === 50, 'getMany in one MGET');

  const s = cache.stats();
  console.log(
    `     stats: hits=${s.hits} misses=${s.misses} coalesced=${s.coalesced} bytes ${s.bytesBeforeCompression} → ${s.bytesAfterCompression} stored`,
  );
  const removed = await cache.clear();
  check(removed === 3, `clear() removed the ${removed} keys under the prefix (SCAN + UNLINK, never FLUSHDB)`);
} catch (err) {
  failures++;
  console.log(`FAIL ${(err as Error).message}`);
} finally {
  await cache.close();
  await pool.close({ timeoutMs: 5_000 });
  await embedded?.stop();
}
console.log(failures === 0 ? 'self-check: ok' : `self-check: ${failures} failure(s)`);
process.exitCode = failures === 0 ? 0 : 1;
