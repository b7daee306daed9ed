/**
 * Free loopback port discovery for the test servers and proxies. The kernel picks the port (bind
 * to port 0), we read it back and release it. There is an unavoidable window between releasing
 * the port and the child process binding it, so callers must be ready to retry on
 * `EADDRINUSE` (see {@link RedisProcess}).
 */
import net from 'node:net';

/**
 * Asks the kernel for a currently free TCP port on `host`.
 *
 * @param host - Loopback address to bind. Default `'127.0.0.1'`. Only loopback addresses are
 *   accepted: this helper never opens a port reachable from another machine.
 * @returns A port number in the ephemeral range that was free a moment ago.
 */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  if (host !== '127.0.0.1' && host !== '::1' && host !== 'localhost') {
    throw new Error(`findFreePort: refusing to bind non-loopback host ${JSON.stringify(host)}`);
  }
  return new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close((err) => {
        if (err) reject(err);
        else if (port > 0) resolve(port);
        else reject(new Error('findFreePort: could not read the bound port'));
      });
    });
  });
}
