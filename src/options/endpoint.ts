/**
 * The connection-target types: what TLS settings look like and where (and as whom) to connect
 * once resolved. Kept apart from the rest of the option types because drivers need these and
 * nothing else: `driver/driver.ts` imports this file, and the option table imports the driver
 * types, so putting them together would be an import cycle.
 */

/** TLS settings. Verification is on unless `insecureSkipVerify` is set explicitly. */
export interface TlsOptions {
  /** PEM CA bundle(s) to trust instead of the system store. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** PEM client certificate for mutual TLS. */
  cert?: string | Buffer;
  /** PEM client private key for mutual TLS. Never printed. */
  key?: string | Buffer;
  /** Passphrase for `key`. Never printed. */
  passphrase?: string;
  /** SNI server name. @default the host name, when it is not an IP address */
  servername?: string;
  /** Minimum TLS version. @default Node's default ('TLSv1.2') */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list, passed through. */
  ciphers?: string;
  /**
   * Turn off certificate and host-name verification. Dangerous: only for tests against
   * self-signed servers. @default false
   */
  insecureSkipVerify?: boolean;
}

/** Where and as whom to connect, resolved: shared by the options and a driver's connect spec. */
export interface ResolvedEndpoint {
  readonly host: string;
  readonly port: number;
  /** Unix socket path; when set, host and port are unused. */
  readonly path: string | undefined;
  readonly username: string | undefined;
  /** Never printed: a non-enumerable getter on resolved options. */
  readonly password: string | undefined;
  readonly db: number;
  readonly tls: TlsOptions | undefined;
}
