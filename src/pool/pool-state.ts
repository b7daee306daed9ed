/** The pool's lifecycle state and its transition table (docs/ARCHITECTURE.md draws it; a test compares the two). */

/** Pool lifecycle. `closing` drains; `closed` is final. */
export type PoolState = 'open' | 'closing' | 'closed';

/** Allowed pool state changes. */
export const POOL_TRANSITIONS: { readonly [S in PoolState]: readonly PoolState[] } = {
  open: ['closing', 'closed'],
  closing: ['closed'],
  closed: [],
};
