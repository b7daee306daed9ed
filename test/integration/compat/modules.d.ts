/**
 * Types for the two redlock releases the tests use. redlock 5 ships types its package.json
 * "exports" hides from `moduleResolution: nodenext`; redlock 4 ships none. The client type is
 * ioredis's, as in redlock 5's own declaration, so passing asIoredis(pool) is type-checked.
 */
declare module 'redlock' {
  import type { EventEmitter } from 'node:events';
  import type { Cluster, Redis } from 'ioredis';
  export class Lock {
    readonly resources: string[];
    readonly expiration: number;
    extend(duration: number): Promise<Lock>;
    release(): Promise<unknown>;
  }
  export default class Redlock extends EventEmitter {
    constructor(clients: Iterable<Redis | Cluster>, settings?: { retryCount?: number; retryDelay?: number; driftFactor?: number });
    acquire(resources: string[], duration: number): Promise<Lock>;
    quit(): Promise<void>;
  }
}

declare module 'redlock4' {
  import type { EventEmitter } from 'node:events';
  import type { Cluster, Redis } from 'ioredis';
  interface Lock4 {
    extend(ttl: number): Promise<Lock4>;
    unlock(): Promise<void>;
  }
  export default class Redlock4 extends EventEmitter {
    constructor(clients: Array<Redis | Cluster>, settings?: { retryCount?: number; retryDelay?: number });
    lock(resource: string, ttl: number): Promise<Lock4>;
    quit(): Promise<void>;
  }
}
