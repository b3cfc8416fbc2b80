/** Exit codes of `dtk`, stable so scripts can rely on them (documented in the README). */
import { DtkError } from '../../worker/src/errors.ts';

export const EXIT = {
  ok: 0,
  /** Anything unexpected. */
  error: 1,
  /** Bad flags or arguments, invalid input. */
  usage: 2,
  /** No such instance. */
  notFound: 3,
  /** The instance exists already, or is in a state that refuses the operation. */
  conflict: 4,
  /** A wait timed out. */
  timeout: 5,
  /** The awaited instance ended Failed or Terminated. */
  instanceFailed: 6,
  /** The hub's database could not be reached or is not migrated. */
  unavailable: 7,
} as const;

/** Maps an error to its exit code through its stable DtkError code. */
export function exitCodeFor(err: unknown): number {
  if (!(err instanceof DtkError)) return EXIT.error;
  switch (err.code) {
    case 'DTK_INVALID_ARGUMENT':
    case 'DTK_PAYLOAD_TOO_LARGE':
    case 'DTK_CONFIG':
    case 'DTK_USAGE':
      return EXIT.usage;
    case 'DTK_INSTANCE_NOT_FOUND':
      return EXIT.notFound;
    case 'DTK_INSTANCE_EXISTS':
    case 'DTK_INVALID_STATE':
      return EXIT.conflict;
    case 'DTK_TIMEOUT':
      return EXIT.timeout;
    case 'DTK_STORE_UNAVAILABLE':
    case 'DTK_SCHEMA_VERSION':
      return EXIT.unavailable;
    default:
      return EXIT.error;
  }
}
