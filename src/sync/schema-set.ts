/**
 * Checks and hash of the schema list host and clients share.
 * @module
 */
import { invalid } from '../util/validate.js';
import { Schema, schemaSetHash } from './schema.js';

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
