/**
 * Structured logging through pino. Every record about an instance carries `instanceId` and
 * `version`; workers add `workerId` and `component` through child loggers.
 */
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Level from DTK_LOG_LEVEL (default info; 'silent' turns logging off). */
export function createLogger(bindings: Record<string, unknown> = {}, level?: string): Logger {
  return pino({
    level: level ?? process.env.DTK_LOG_LEVEL ?? 'info',
    base: { ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** A logger that discards everything, for library users who pass none and for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
