/**
 * Checks and hash of the schema list host and clients share.
 * @module
 */
import { invalid } from '../util/validate.js';
import { schemaSetHash, type Schema } from './schema.js';

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

