/**
 * What a long-running command needs around its work: Ctrl-C / SIGTERM handling that stops the
 * work and still cleans up (a second signal exits at once; the embedded server dies with this
 * process on every path), and the throwaway `redis-server` of `bench` when no URL is given.
 */
import { RedisServerNotFoundError, startEmbeddedServer, type RedisServer } from './embedded-server.js';
import { EXIT } from './args.js';
import { printErr } from './output.js';

/** Thrown when `redis-server` is needed but not installed; exit code 3. */
export class NoServerError extends Error {
  readonly exitCode = EXIT.noServer;
  constructor() {
    super(
      'redis-server is not installed (not found on PATH): install it (e.g. apt-get install redis-server), or pass --url / set REDIS_URL to use an existing server',
    );
    this.name = 'NoServerError';
  }
}

/** Signal handling for one command run. Call {@link Session.end} when done. */
export class Session {
  readonly #ac = new AbortController();
  #signal: NodeJS.Signals | undefined;
  readonly #handler = (sig: NodeJS.Signals): void => {
    if (this.#signal) {
      printErr(`redpool: second ${sig}, exiting now`);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
    this.#signal = sig;
    printErr(`redpool: ${sig} received, stopping (again to force)`);
    this.#ac.abort();
  };

  constructor() {
    process.on('SIGINT', this.#handler);
    process.on('SIGTERM', this.#handler);
  }

  /** Aborted on the first signal. */
  get signal(): AbortSignal {
    return this.#ac.signal;
  }

  /** Exit code for an interrupted run (130 for SIGINT, 143 for SIGTERM), or undefined. */
  get interruptedCode(): number | undefined {
    return this.#signal === undefined ? undefined : this.#signal === 'SIGINT' ? 130 : 143;
  }

  /** Removes the signal handlers. */
  end(): void {
    process.off('SIGINT', this.#handler);
    process.off('SIGTERM', this.#handler);
  }
}

/**
 * Starts a throwaway `redis-server` on a free loopback port. Throws {@link NoServerError} when
 * the binary is missing.
 */
export async function startEmbedded(): Promise<RedisServer> {
  try {
    return await startEmbeddedServer();
  } catch (err) {
    if (err instanceof RedisServerNotFoundError) throw new NoServerError();
    throw err;
  }
}
