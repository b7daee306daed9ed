/**
 * `NODE_DEBUG=redpool` logging through `util.debuglog`. Arguments are formatted lazily by
 * Node, so a disabled log costs one boolean check.
 */
import { debuglog } from 'node:util';

export const debug = debuglog('redpool');
