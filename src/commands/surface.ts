/**
 * The typed command surface: one method per Redis command (and a `…Buffer` twin), installed
 * on a prototype. Every method funnels into `this[kDispatch](name, args, buffer)`, so the pool,
 * a per-call view, a lease and a batch share one surface and differ only in dispatch.
 */
import { ArgumentError } from '../errors.js';
import { COMMAND_NAMES } from './command-table.js';

/** The single entry point every generated command method calls. */
export const kDispatch = Symbol('redpool.dispatch');

/** How a surface reports an error found before dispatch (a rejected promise, or a recorded batch error). */
export const kFail = Symbol('redpool.fail');

export interface Dispatcher {
  [kDispatch](name: string, args: unknown[], buffer: boolean): unknown;
  [kFail](err: Error): unknown;
}

function define(proto: object, key: string, fn: (this: Dispatcher, ...args: unknown[]) => unknown): void {
  if (Object.prototype.hasOwnProperty.call(proto, key)) return; // hand-written methods win
  Object.defineProperty(proto, key, { value: fn, writable: true, configurable: true, enumerable: false });
}

/** Installs every command method on `proto` (skipping names it already defines). */
export function installCommands(proto: object, skip: ReadonlySet<string> = new Set()): void {
  for (const name of COMMAND_NAMES) {
    if (skip.has(name)) continue;
    define(proto, name, function (this: Dispatcher, ...args: unknown[]) {
      return this[kDispatch](name, args, false);
    });
    define(proto, `${name}Buffer`, function (this: Dispatcher, ...args: unknown[]) {
      return this[kDispatch](name, args, true);
    });
  }
  // `call('GET', 'k')`: any command by name, including ones newer than the command table.
  const call = (buffer: boolean) =>
    function (this: Dispatcher, command: unknown, ...args: unknown[]) {
      if (typeof command !== 'string' || !/^[A-Za-z][A-Za-z0-9_|.-]*$/.test(command))
        return this[kFail](new ArgumentError('CALL', 0, 'must be a command name (a non-empty string of letters)'));
      return this[kDispatch](command.toLowerCase(), args.length === 1 && Array.isArray(args[0]) ? args[0] : args, buffer);
    };
  define(proto, 'call', call(false));
  define(proto, 'callBuffer', call(true));
}
