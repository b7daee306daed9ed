/** `redpool/testing`: a fake driver and a manual clock for unit tests without Redis. */
export { FakeDriver, FakeConnection } from './fake-driver.js';
export type { FakeHandler, ConnectBehaviour } from './fake-driver.js';
export { ManualClock } from './manual-clock.js';
