/**
 * `redpool/cache`: a cache on a redpool pool — typed values, JSON/msgpack/custom serializers,
 * node:zlib compression behind a versioned header, fail-open, stampede-proof getOrSet, a near
 * cache kept coherent by Redis invalidations, a Keyv store, and counters. See docs/cache.md.
 */
export { Cache, createCache } from './cache.js';
export type { CallOptions, SetOptions } from './cache.js';
export type { GetOrSetOptions } from './stampede.js';
export type { CacheOptions, ResolvedCacheOptions, CompressionOptions, CompressionAlgorithm, LocalOptions } from './options.js';
export { jsonSerializer, msgpackSerializer } from './serializers.js';
export type { Serializer } from './serializers.js';
export { hasCompression } from './codec.js';
export { CacheError } from './errors.js';
export type { CacheErrorCode } from './errors.js';
export type { CacheStats } from './stats.js';
export { keyvStore } from './keyv.js';
export type { KeyvStoreAdapter } from './keyv.js';
