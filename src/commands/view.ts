/**
 * The one backing class of `pool.with(…)` views, for a single-node pool and a cluster pool
 * alike: the installed command surface, dispatching to the functions the pool binds (its
 * per-call options captured there), plus `pipeline()`/`multi()`.
 */
import type { Batch } from './batch.js';
import { installCommands, kDispatch, kFail } from './surface.js';

/** How a pool runs a view's commands and batches. */
export type ViewDispatch = (name: string, args: unknown[], buffer: boolean) => Promise<unknown>;
/** How a pool records a view's pipeline (`atomic` false) or transaction. */
export type ViewBatch = (atomic: boolean, commands: unknown[][] | undefined) => Batch;

/** Backing class of `pool.with(…)` views; build with {@link commandView}. */
class CommandView {
  declare dispatch: ViewDispatch;
  declare batch: ViewBatch;
  /** @internal */
  [kDispatch](name: string, args: unknown[], buffer: boolean): Promise<unknown> {
    return this.dispatch(name, args, buffer);
  }
  /** @internal */
  [kFail](err: Error): Promise<never> {
    return Promise.reject(err);
  }
  pipeline(commands?: unknown[][]): Batch {
    return this.batch(false, commands);
  }
  multi(commands?: unknown[][]): Batch {
    return this.batch(true, commands);
  }
}
installCommands(CommandView.prototype, new Set(['multi', 'pipeline']));

/** A view whose commands go to `dispatch` and whose batches to `batch` (typed by the caller). */
export function commandView(dispatch: ViewDispatch, batch: ViewBatch): unknown {
  const view = Object.create(CommandView.prototype) as CommandView;
  view.dispatch = dispatch;
  view.batch = batch;
  return view;
}
