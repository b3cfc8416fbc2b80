/** Checks on identifiers and payloads done before anything is written. */
import { PayloadTooLargeError, ValidationError } from '../errors.ts';

const CONTROL = /[\u0000-\u001f\u007f]/;

/** An instance id: 1–256 characters, no control characters, not blank. */
export function validateInstanceId(id: unknown, field = 'instanceId'): string {
  if (typeof id !== 'string') throw new ValidationError(field, 'must be a string');
  if (id.length === 0 || id.trim().length === 0) throw new ValidationError(field, 'must not be empty or blank; omit it to get a generated UUID');
  if (id.length > 256) throw new ValidationError(field, `is ${id.length} characters; the limit is 256`);
  if (CONTROL.test(id)) throw new ValidationError(field, 'must not contain control characters (newlines, tabs, NUL); use letters, digits and punctuation');
  return id;
}

/** A hub schema name: a plain lower-case SQL identifier, so it can be quoted safely everywhere. */
export function validateSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,47}$/.test(schema)) {
    throw new ValidationError('schema', `'${schema}' is not a valid hub schema; use lower-case letters, digits and _ (at most 48, not starting with a digit)`);
  }
  return schema;
}

export function checkPayload(field: string, text: string | undefined, limit: number): void {
  if (text === undefined) return;
  const size = Buffer.byteLength(text, 'utf8');
  if (size > limit) throw new PayloadTooLargeError(field, size, limit);
}
