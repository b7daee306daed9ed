/**
 * Pool options, one concept per file under `options/`: the public types (`types.ts`,
 * `endpoint.ts`), the option table every option is declared in once (`table.ts`), value checks
 * (`validate.ts`), URL parsing and redaction (`url.ts`) and `resolveOptions` (`resolve.ts`).
 * This file only re-exports them, so importers keep one stable path.
 */
export type { ResolvedEndpoint, TlsOptions } from './options/endpoint.js';
export type {
  ClusterOptions,
  Credentials,
  Logger,
  OnUnavailable,
  ReadFrom,
  PoolOptions,
  ResolvedSentinel,
  SentinelAddress,
  SentinelOptions,
} from './options/types.js';
export { MAX_DB, MAX_TIMER_MS, OPTIONS, type ResolvedOptions } from './options/table.js';
export { parseRedisUrl, redactUrl, type ParsedUrl } from './options/url.js';
export { optionWarnings, resolveOptions } from './options/resolve.js';
