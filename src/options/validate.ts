/**
 * Checks of single values against their row of the option table, and of TLS settings. Errors
 * name the option; values are echoed only when `echo` is set (never for text cut out of a URL,
 * which may hold part of a password that was not percent-encoded).
 */
import { ConfigError } from '../errors.js';
import type { TlsOptions } from './endpoint.js';
import type { OptionSpec } from './table.js';

/** `typeof`, with the cases `typeof` lumps into "object" told apart. */
export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object' && !isPlainObject(v)) return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

/** An object literal (or `Object.create(null)`): not an array, Date, boxed primitive or class instance. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Checks `value` against `spec`. `name` is what the error says (e.g. `url.query.max`).
 * `echo: false` keeps the value out of the message.
 */
export function checkValue(name: string, spec: OptionSpec<unknown>, value: unknown, echo = true): void {
  const got = (v: unknown): string => (echo ? `, got ${String(v)}` : '');
  switch (spec.kind) {
    case 'string':
      if (typeof value !== 'string') throw new ConfigError(name, `expected a string, got ${typeName(value)}`);
      return;
    case 'bool':
      if (typeof value !== 'boolean') throw new ConfigError(name, `expected a boolean, got ${typeName(value)}`);
      return;
    case 'function':
      if (typeof value !== 'function') throw new ConfigError(name, `expected a function, got ${typeName(value)}`);
      return;
    case 'object':
      if (value === false && spec.orFalse) return;
      if (typeof value !== 'object' || value === null) throw new ConfigError(name, `expected an object, got ${typeName(value)}`);
      for (const m of spec.methods ?? []) {
        if (typeof (value as Record<string, unknown>)[m] !== 'function') throw new ConfigError(name, `must have a ${m}() method`);
      }
      return;
    case 'tls':
      if (typeof value !== 'boolean' && !isPlainObject(value))
        throw new ConfigError(name, `expected a boolean or a plain object of TLS options, got ${typeName(value)}`);
      if (typeof value === 'object') checkTls(value as TlsOptions);
      return;
    case 'sentinel':
      return; // a structured option: checked by checkSentinel (options/sentinel.ts) from resolveOptions
    case 'enum':
      if (typeof value !== 'string' || !spec.values!.includes(value))
        throw new ConfigError(name, `expected one of ${spec.values!.map((v) => `'${v}'`).join(', ')}`);
      return;
    case 'int':
    case 'ms': {
      if (typeof value !== 'number') throw new ConfigError(name, `expected a number, got ${typeName(value)}`);
      if (Number.isNaN(value)) throw new ConfigError(name, 'must not be NaN');
      if (value === Infinity && spec.infinite) return;
      if (!Number.isFinite(value)) {
        const zeroOff = spec.kind === 'ms' && spec.min === 0 ? ' (0 turns it off)' : '';
        throw new ConfigError(name, `must be finite${zeroOff}`);
      }
      if (spec.kind === 'int' && !Number.isInteger(value)) throw new ConfigError(name, `must be an integer${got(value)}`);
      if (spec.min !== undefined && value < spec.min) throw new ConfigError(name, `must be >= ${spec.min}${got(value)}`);
      if (spec.max !== undefined && value > spec.max) {
        const why = spec.kind === 'ms' ? ` (the longest timer Node can arm${spec.infinite ? '; Infinity means no limit' : ''})` : '';
        throw new ConfigError(name, `must be <= ${spec.max}${why}${got(value)}`);
      }
      return;
    }
  }
}

/** The TLS settings, as a null-prototype lookup of their kinds. */
const TLS_KINDS: Readonly<Record<string, 'pem' | 'pem-list' | 'string' | 'bool' | 'version'>> = Object.assign(
  Object.create(null) as object,
  {
    ca: 'pem-list',
    cert: 'pem',
    key: 'pem',
    passphrase: 'string',
    servername: 'string',
    minVersion: 'version',
    ciphers: 'string',
    insecureSkipVerify: 'bool',
  } as const,
);

const isPem = (v: unknown): boolean => typeof v === 'string' || Buffer.isBuffer(v);

/** Checks a TLS settings object: own keys only, each of its type. `option`: the name errors use. */
export function checkTls(tls: TlsOptions, option = 'tls'): void {
  for (const k of Object.keys(tls)) {
    const kind = TLS_KINDS[k];
    if (kind === undefined) throw new ConfigError(`${option}.${k}`, 'unknown TLS option');
    const v = (tls as Record<string, unknown>)[k];
    if (v === undefined) continue;
    const name = `${option}.${k}`;
    if (kind === 'bool' && typeof v !== 'boolean') throw new ConfigError(name, 'expected a boolean');
    if (kind === 'string' && typeof v !== 'string') throw new ConfigError(name, 'expected a string');
    if (kind === 'version' && v !== 'TLSv1.2' && v !== 'TLSv1.3') throw new ConfigError(name, "expected 'TLSv1.2' or 'TLSv1.3'");
    if (kind === 'pem' && !isPem(v)) throw new ConfigError(name, 'expected a PEM string or Buffer');
    if (kind === 'pem-list' && !isPem(v) && !(Array.isArray(v) && v.every(isPem)))
      throw new ConfigError(name, 'expected a PEM string, a Buffer or an array of them');
  }
}
