/**
 * Test-only crash points. The fault suite (scenario 10) needs the operator to die *between* two side effects that
 * matter — a Deployment created but not yet recorded, a role dropped but its Secret still there — at a chosen
 * moment, as a real crash would: SIGKILL, no cleanup, no lease release. Luck (killing from outside and hoping the
 * process is at the right line) does not make a reproducible test.
 *
 * `DTK_OPERATOR_CRASH_AT` lists the points that may fire and `DTK_OPERATOR_CRASH_DIR` names a directory; both are
 * read once at start (config.ts). A listed point fires only while the file `<dir>/<point>` exists: the test arms it
 * by creating the file, and the process renames it to `<point>.fired` before killing itself, so one arming kills
 * one process once and the restarted operator goes past the point. Unset, {@link crashPoint} is one comparison.
 */
import { renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Every place the operator can be made to crash, in the order a rollout and a hub's life pass them. */
export const CRASH_POINTS = [
  /** TaskHub: role and schema (or database) exist; the connection Secret is not written yet. */
  'after-role-create',
  /** TaskHub: the connection Secret is written; migrations have not run. */
  'after-secret-write',
  /** TaskHub (schema isolation): migrations applied under the temporary CREATE grant, not yet revoked. */
  'after-migrate',
  /** WorkflowDeployment: a new version's Deployment is created; routing and status do not know it yet. */
  'after-deployment-create',
  /** WorkflowDeployment: the hub's routing is written; status does not say so yet. */
  'after-routing-write',
  /** WorkflowDeployment: a drained version is scaled to zero; its Deployment is not deleted, status not written. */
  'after-scale-down',
  /** WorkflowDeployment: a drained version's Deployment is deleted; status still lists it. */
  'after-deployment-delete',
  /** TaskHub deletion (Delete): the schema or database is dropped; the role still exists. */
  'after-drop-data',
  /** TaskHub deletion (Delete): the role is dropped; the connection Secret still exists. */
  'after-drop-role',
  /** TaskHub deletion (either policy): the policy is carried out; the finalizer is still on the object. */
  'before-finalizer-remove',
] as const;

/** A named crash point. */
export type CrashPoint = (typeof CRASH_POINTS)[number];

/** How crash points are armed; `kill` replaces the SIGKILL (unit tests). */
export interface CrashSettings {
  points: readonly string[];
  dir: string;
  kill?: (point: CrashPoint) => void;
}

let armed: { points: Set<string>; dir: string; kill: (point: CrashPoint) => void } | undefined;

/** The names in a `DTK_OPERATOR_CRASH_AT` value that are no crash point. */
export function unknownCrashPoints(points: readonly string[]): string[] {
  return points.filter((p) => !(CRASH_POINTS as readonly string[]).includes(p));
}

/** Parses `DTK_OPERATOR_CRASH_AT` (`<point>[,<point>]`). */
export function parseCrashPoints(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/** Enables crash points (main.ts, from the configuration); undefined or no points disables them. */
export function setCrashPoints(settings: CrashSettings | undefined): void {
  if (!settings || settings.points.length === 0) {
    armed = undefined;
    return;
  }
  armed = { points: new Set(settings.points), dir: settings.dir, kill: settings.kill ?? sigkill };
}

/** Dies here if this point is listed and armed; otherwise returns at once. */
export function crashPoint(point: CrashPoint): void {
  if (armed === undefined || !armed.points.has(point)) return;
  const file = join(armed.dir, point);
  try {
    // The rename is the disarming: if it fails the point was not armed (or another process fired it first).
    renameSync(file, `${file}.fired`);
  } catch {
    return;
  }
  armed.kill(point);
}

function sigkill(point: CrashPoint): void {
  // Straight to the log file, synchronously: the logger's buffer would die with the process.
  writeSync(
    2,
    `${JSON.stringify({ level: 60, time: Date.now(), msg: 'crash point reached: SIGKILL', point, pid: process.pid })}\n`,
  );
  process.kill(process.pid, 'SIGKILL');
}
