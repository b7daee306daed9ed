/**
 * The routing rule of the shared API, in one place: ordinary commands run on the least-loaded
 * shared lane; blocking commands run on an exclusive lease, automatically; commands that change
 * connection state are refused with {@link LeaseRequiredError} (they are not on the `Pool` type
 * either). Arguments are checked before anything is queued.
 */
import { LeaseRequiredError } from '../errors.js';
import { checkArgs } from './arguments.js';
import { BLOCKING_COMMANDS, blockTimeMs, COMMAND_NAMES, refusedOnShared, STATE_CHANGING } from './command-table.js';

/** Where a shared-API call runs. */
export type Route = 'lane' | 'lease';

type Kind = 0 | 1 | 2; // 0 plain, 1 refused (maybe), 2 blocking (maybe)
const KIND = new Map<string, Kind>();
for (const name of COMMAND_NAMES) KIND.set(name, 0);
for (const name of STATE_CHANGING) KIND.set(name, 1);
KIND.set('client', 1); // some subcommands only
for (const name of BLOCKING_COMMANDS) KIND.set(name, 2);

/**
 * Where `name args` runs on the shared API. Throws {@link LeaseRequiredError} for a refused
 * command and `ArgumentError` for malformed arguments. Plain commands take one map lookup.
 */
export function routeShared(name: string, args: unknown[]): Route {
  if (KIND.get(name) !== 0) {
    const refused = refusedOnShared(name, args);
    if (refused) throw new LeaseRequiredError(refused);
    if (blockTimeMs(name, args) !== undefined) {
      checkArgs(name, args);
      return 'lease';
    }
  }
  checkArgs(name, args);
  return 'lane';
}
