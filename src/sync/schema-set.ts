/**
 * Checks and hash of the schema list host and clients share.
 * @module
 */
import { invalid } from '../util/validate.js';
import { Schema, schemaSetHash } from './schema.js';
import type { SyncTransport } from './types.js';

/** Hash of the schema list and input schema (host and clients must agree). */
export function syncHash(schemas: readonly Schema<any>[], inputSchema: Schema<any> | undefined): number {
  return schemaSetHash(inputSchema === undefined ? schemas : [...schemas, inputSchema]);
}

export function checkSchemas(schemas: unknown, what: string): readonly Schema<any>[] {
  if (!Array.isArray(schemas) || schemas.length === 0) invalid(what, 'a non-empty array of schemas from defineSchema()', schemas);
  for (const s of schemas) if (s === null || typeof s !== 'object' || typeof (s as Schema).fingerprint !== 'string') invalid(what, 'schemas from defineSchema()', s);
  if (new Set(schemas).size !== schemas.length) invalid(what, 'distinct schemas', schemas);
  return schemas as Schema<any>[];
}


/** The optional input schema: undefined or a schema from defineSchema(). */
export function checkInputSchema(schema: unknown, what: string): Schema<any> | undefined {
  if (schema !== undefined && !(schema instanceof Schema)) invalid(what, 'a schema from defineSchema() (or omitted)', schema);
  return schema;
}

const TRANSPORT_METHODS = ['ownId', 'authority', 'peers', 'send', 'maxMessageSize', 'onMessage', 'onPeerLeft', 'close'] as const;

/** A {@link SyncTransport}: an object with every required method. */
export function checkTransport(transport: unknown, what: string): void {
  if (transport === null || typeof transport !== 'object') invalid(what, 'a SyncTransport (e.g. rpcTransport(endpoint))', transport);
  const missing = TRANSPORT_METHODS.filter((m) => typeof (transport as Record<string, unknown>)[m] !== 'function');
  if (missing.length > 0) invalid(what, `a SyncTransport (e.g. rpcTransport(endpoint)); it lacks ${missing.join(', ')}()`, transport);
}
