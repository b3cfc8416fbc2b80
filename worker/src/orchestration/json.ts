/**
 * Payload serialisation for the engine. History stores JSON text exactly as produced once, so
 * replay parses the same bytes; `undefined` is "no payload" (the field is left out), never "null".
 */
import { ValidationError } from '../errors.ts';

/** JSON text for a payload, or undefined when there is no value. Throws ValidationError for values JSON cannot hold. */
export function serialize(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ValidationError(field, `cannot be serialised to JSON: ${reason}`);
  }
  // JSON.stringify returns undefined for functions and symbols: treat them as mistakes, not as "no value".
  if (text === undefined) throw new ValidationError(field, `cannot be serialised to JSON (got a ${typeof value})`);
  return text;
}

/** Parses a recorded payload; undefined stays undefined. */
export function deserialize(text: string | undefined, field: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ValidationError(field, `is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}
