/**
 * `NODE_DEBUG=redpool` logging through `util.debuglog`. NODE_DEBUG is read once at startup, so
 * `debugEnabled` is a constant: hot paths test it before calling `debug`, because even a
 * disabled debuglog call costs a rest-args array and a dispatch (a quarter of acquire/release
 * CPU in a profile).
 */
import { debuglog } from 'node:util';

export const debug = debuglog('redpool');
export const debugEnabled: boolean = debug.enabled;
