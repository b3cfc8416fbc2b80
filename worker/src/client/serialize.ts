/**
 * JSON payload handling at the client boundary: refuse what cannot round-trip through JSON,
 * and what is over the size limit, before anything is written.
 */
import { PayloadTooLargeError, ValidationError } from '../errors.ts';

/** Serialises a payload, naming `field` in the error when it cannot be stored. */
export function serializePayload(field: string, value: unknown, limitBytes: number): string | undefined {
  if (value === undefined) return undefined;
  let text: string | undefined;
  try {
    text = JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'bigint') throw new TypeError('a BigInt cannot be represented in JSON; pass it as a string');
      if (typeof v === 'function' || typeof v === 'symbol') throw new TypeError(`a ${typeof v} cannot be represented in JSON`);
      return v;
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ValidationError(field, `is not JSON-serialisable (${reason}); pass plain data: objects, arrays, strings, numbers, booleans, null`);
  }
  if (text === undefined) return undefined;
  const size = Buffer.byteLength(text, 'utf8');
  if (size > limitBytes) throw new PayloadTooLargeError(field, size, limitBytes);
  return text;
}

/** Parses stored JSON text; undefined stays undefined. */
export function parsePayload<T = unknown>(text: string | undefined): T | undefined {
  return text === undefined ? undefined : (JSON.parse(text) as T);
}
