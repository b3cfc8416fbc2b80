/**
 * Typed errors with stable codes. Every error dtk raises on purpose is a DtkError; its
 * `code` is part of the public contract (scripts and the CLI's exit codes rely on it) and
 * its message tells the reader what to check.
 */

/** Base class of every error dtk raises on purpose. */
export class DtkError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An argument or payload was rejected before anything was written. */
export class ValidationError extends DtkError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('DTK_INVALID_ARGUMENT', `${field}: ${message}`);
    this.field = field;
  }
}

/** A payload (input, output, event data, custom status) is larger than the hub's limit. */
export class PayloadTooLargeError extends DtkError {
  readonly field: string;
  readonly sizeBytes: number;
  readonly limitBytes: number;
  constructor(field: string, sizeBytes: number, limitBytes: number) {
    super(
      'DTK_PAYLOAD_TOO_LARGE',
      `${field} is ${sizeBytes} bytes, over the limit of ${limitBytes} bytes; ` +
        'store large data elsewhere (object storage, a table of your own) and pass a reference, or raise maxPayloadBytes',
    );
    this.field = field;
    this.sizeBytes = sizeBytes;
    this.limitBytes = limitBytes;
  }
}

/** An instance with this id already exists and is not in a state that allows reuse. */
export class InstanceAlreadyExistsError extends DtkError {
  readonly instanceId: string;
  constructor(instanceId: string, status: string) {
    super(
      'DTK_INSTANCE_EXISTS',
      `instance '${instanceId}' already exists (status ${status}); choose another id, or purge the old instance first`,
    );
    this.instanceId = instanceId;
  }
}

/** No instance with this id exists in the hub. */
export class InstanceNotFoundError extends DtkError {
  readonly instanceId: string;
  constructor(instanceId: string) {
    super('DTK_INSTANCE_NOT_FOUND', `no instance '${instanceId}' in this task hub; check the id and the hub URL/schema`);
    this.instanceId = instanceId;
  }
}

/** The instance is in a state that does not allow the requested operation. */
export class InvalidInstanceStateError extends DtkError {
  constructor(instanceId: string, status: string, operation: string) {
    super('DTK_INVALID_STATE', `cannot ${operation} instance '${instanceId}': it is ${status}`);
  }
}

/**
 * A worker tried to commit with a lease it no longer holds: its lease expired and another
 * worker may have claimed the work. The turn is discarded; the new owner redoes it.
 */
export class LeaseLostError extends DtkError {
  constructor(what: string) {
    super('DTK_LEASE_LOST', `lease lost for ${what}: it expired or another worker claimed it; the work is redone by the new owner`);
  }
}

/** The database schema is newer than this code, or not migrated. */
export class SchemaVersionError extends DtkError {
  constructor(message: string) {
    super('DTK_SCHEMA_VERSION', message);
  }
}

/** A wait or an operation timed out. */
export class TimeoutError extends DtkError {
  constructor(message: string) {
    super('DTK_TIMEOUT', message);
  }
}

/** Configuration is invalid; the message lists every problem. */
export class ConfigError extends DtkError {
  constructor(problems: string[]) {
    super('DTK_CONFIG', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

/** Turns anything thrown into an Error, keeping the original as `cause`. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'string') return new Error(thrown);
  let text: string;
  try {
    text = JSON.stringify(thrown) ?? String(thrown);
  } catch {
    text = String(thrown);
  }
  return new Error(`non-error thrown: ${text}`, { cause: thrown });
}

/** The hub's database could not be reached; the message names the host and port to check. */
export class StoreUnavailableError extends DtkError {
  constructor(target: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      'DTK_STORE_UNAVAILABLE',
      `cannot reach the task hub database at ${target} (${reason}); check that Postgres is running and the hub URL (DTK_HUB_URL) is right`,
      { cause },
    );
  }
}
