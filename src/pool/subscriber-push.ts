/**
 * Pushes of a subscriber connection into its events: Buffer events always as received, string
 * events only when someone listens (no string copies otherwise), invalidations only with tracking.
 */
import type { EventEmitter } from 'node:events';
import type { PushKind } from '../driver/driver.js';
import type { SubscriberEvents } from './subscriber-types.js';

/** Emits push `kind` (args as the driver reports them, see `DriverConnection.onPush`) on `to`. */
export function emitPush(to: EventEmitter<SubscriberEvents>, kind: PushKind, a: readonly Buffer[], tracking: boolean): void {
  switch (kind) {
    case 'invalidate': {
      if (!tracking) break;
      const keys = a.length === 0 ? null : [...a];
      if (to.listenerCount('invalidateBuffer') > 0) to.emit('invalidateBuffer', keys);
      if (to.listenerCount('invalidate') > 0) to.emit('invalidate', keys && keys.map((k) => k.toString()));
      break;
    }
    case 'message':
      if (to.listenerCount('messageBuffer') > 0) to.emit('messageBuffer', a[0]!, a[1]!);
      if (to.listenerCount('message') > 0) to.emit('message', a[0]!.toString(), a[1]!.toString());
      break;
    case 'smessage':
      if (to.listenerCount('smessageBuffer') > 0) to.emit('smessageBuffer', a[0]!, a[1]!);
      if (to.listenerCount('smessage') > 0) to.emit('smessage', a[0]!.toString(), a[1]!.toString());
      break;
    case 'pmessage': {
      const pattern = a[0]!.toString();
      if (to.listenerCount('pmessageBuffer') > 0) to.emit('pmessageBuffer', pattern, a[1]!, a[2]!);
      if (to.listenerCount('pmessage') > 0) to.emit('pmessage', pattern, a[1]!.toString(), a[2]!.toString());
      break;
    }
    case 'sunsubscribe':
      // The server dropped shard channels (their slot moved): the subscriber handles it, not its users.
      break;
  }
}
