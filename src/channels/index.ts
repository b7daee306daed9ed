/**
 * `redpool/channels`: a channel layer in the manner of Django Channels' `channels_redis`, done
 * over one redpool pool — atomic capacity-checked sends, cancellation-safe receives on exclusive
 * leases, groups with membership expiry, AES-256-GCM envelopes with key rotation, hash-tagged
 * keys. See docs/channels.md.
 */
export { ChannelLayer, createChannelLayer } from './layer.js';
export type { SendOptions, ReceiveOptions, ConsumeOptions } from './layer.js';
export type { ChannelLayerOptions, CapacityPattern, CapacityRule, ResolvedChannelOptions, Serializer } from './options.js';
export { jsonSerializer } from './options.js';
export type { GroupSendResult, MemberStatus } from './groups.js';
export type { ChannelStats } from './stats.js';
export { RECEIVE_WAIT_BUCKETS_MS } from './stats.js';
export { MAX_NAME_LENGTH } from './keys.js';
export { ChannelFullError, ChannelMessageError } from '../errors.js';
