#!/usr/bin/env node
// Builds the package: removes dist/, tsc -p tsconfig.build.json (src/ → dist/), then marks the CLI entry point
// executable (tsc writes 0644 and `npx redpool` would fail with "Permission denied").
// `npm run build` and `prepare` (npm ci / npm install from a checkout) both run this.
import { execFileSync } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
// From scratch: a file deleted or moved in src/ must not linger in dist/ and get packed.
rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
chmodSync('dist/cli/main.js', 0o755);
