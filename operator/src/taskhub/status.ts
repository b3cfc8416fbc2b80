/**
 * The TaskHub status a reconcile pass leads to: conditions DatabaseReady, Migrated and Ready (the first failing
 * one's reason and message, so `kubectl get th -o wide` says what to fix), names, schema version and instance counts.
 */
import { setCondition } from '../crds/conditions.ts';
import type { InstanceCounts, TaskHubStatus } from '../crds/index.ts';
import type { MigrationOutcome } from './migrate.ts';
import { connectionSecretName } from './names.ts';
import type { ProvisionedHub } from './provision.ts';
import type { ProvisioningError } from './postgres.ts';

/** Everything a pass learned. */
export interface HubPassOutcome {
  hubName: string;
  generation: number;
  invalidSpec?: string;
  provisioned?: Pick<ProvisionedHub, 'names' | 'database' | 'schema'>;
  dbError?: ProvisioningError;
  migrated?: MigrationOutcome;
  migrateError?: ProvisioningError;
  counts?: Record<string, number>;
}

/** Runtime statuses (as the store writes them) → status.instances fields. */
const COUNT_FIELDS: Record<string, keyof InstanceCounts> = {
  Pending: 'pending',
  Running: 'running',
  ContinuedAsNew: 'running',
  Suspended: 'suspended',
  Completed: 'completed',
  Failed: 'failed',
  Terminated: 'terminated',
};

/** Folds the store's per-status counts into the status shape. */
export function instanceCounts(byStatus: Record<string, number>): InstanceCounts {
  const counts: InstanceCounts = { pending: 0, running: 0, suspended: 0, completed: 0, failed: 0, terminated: 0 };
  for (const [status, n] of Object.entries(byStatus)) {
    const field = COUNT_FIELDS[status];
    if (field) counts[field] += n;
  }
  return counts;
}

/** A status mutator applying the pass's outcome. */
export function applyHubOutcome(outcome: HubPassOutcome, now: Date): (status: TaskHubStatus) => void {
  return (status) => {
    const conditions = (status.conditions ??= []);
    const generation = outcome.generation;
    const set = (type: string, state: 'True' | 'False' | 'Unknown', reason: string, message: string) =>
      setCondition(conditions, { type, status: state, reason, message, observedGeneration: generation }, now);
    status.observedGeneration = generation;

    if (outcome.invalidSpec) {
      set('Ready', 'False', 'InvalidSpec', outcome.invalidSpec);
      return;
    }
    const { provisioned, dbError, migrated, migrateError } = outcome;
    if (provisioned) {
      const where = provisioned.names.database ? `database ${provisioned.database}` : `schema ${provisioned.schema} of database ${provisioned.database}`;
      set('DatabaseReady', 'True', 'Provisioned', `role ${provisioned.names.role} owns ${where}`);
      status.connectionSecret = connectionSecretName(outcome.hubName);
      status.database = provisioned.database;
      status.schema = provisioned.schema;
      status.role = provisioned.names.role;
    } else if (dbError) {
      set('DatabaseReady', 'False', dbError.reason, dbError.message);
    }
    if (migrated) {
      set('Migrated', 'True', 'UpToDate', `hub schema at version ${migrated.to}`);
      status.schemaVersion = migrated.to;
    } else if (migrateError) {
      set('Migrated', 'False', migrateError.reason, migrateError.message);
    } else if (!provisioned) {
      set('Migrated', 'Unknown', 'DatabaseNotReady', 'migrations run once the database is ready');
    }
    if (outcome.counts) {
      status.instances = instanceCounts(outcome.counts);
    }
    const failing = [dbError, migrateError].find((e) => e !== undefined);
    if (provisioned && migrated) set('Ready', 'True', 'Ready', 'the hub is provisioned and migrated; workers can connect');
    else if (failing) set('Ready', 'False', failing.reason, failing.message);
  };
}
