/**
 * Migrations of a hub, applied with the worker's own migration code as the hub role, so every table belongs to the
 * role and to nothing else. An up-to-date schema costs one query; a database newer than this operator is refused.
 */
import { SchemaVersionError } from '../../../worker/src/errors.ts';
import { LATEST_SCHEMA_VERSION } from '../../../worker/src/store/index.ts';
import type { OperatorContext } from '../context.ts';
import { crashPoint } from '../runtime/crash.ts';
import { describePgError, ProvisioningError, withClient } from './postgres.ts';
import type { ProvisionedHub } from './provision.ts';
import * as sql from './sql.ts';

/** Schema versions before and after. */
export interface MigrationOutcome {
  from: number;
  to: number;
}

/** Brings the hub schema to the latest version; throws ProvisioningError with a condition reason on failure. */
export async function migrateHub(ctx: OperatorContext, key: string, hub: ProvisionedHub): Promise<MigrationOutcome> {
  const store = ctx.hubs.store(key, { uri: hub.uri, schema: hub.schema });
  try {
    const version = await store.checkSchema();
    return { from: version, to: version };
  } catch (err) {
    if (!(err instanceof SchemaVersionError)) throw describePgError(err, `${hub.admin.host}:${hub.admin.port}`, `Secret ${key}-connection`);
  }
  const needsGrant = hub.names.database === undefined;
  try {
    if (needsGrant) await withClient(hub.adminUri, (admin) => sql.grantCreateOnDatabase(admin, hub.names.role));
    try {
      const migrated = await store.migrate();
      crashPoint('after-migrate');
      return migrated;
    } finally {
      if (needsGrant) await withClient(hub.adminUri, (admin) => sql.revokeCreateOnDatabase(admin, hub.names.role));
    }
  } catch (err) {
    if (err instanceof SchemaVersionError) {
      throw new ProvisioningError(
        'SchemaNewerThanOperator',
        `${err.message}; this operator knows schema version ${LATEST_SCHEMA_VERSION}: upgrade the operator`,
        { cause: err },
      );
    }
    const described = describePgError(err, `${hub.admin.host}:${hub.admin.port}`, 'the hub connection');
    throw new ProvisioningError(described.reason === 'ProvisioningFailed' ? 'MigrationFailed' : described.reason, described.message, {
      cause: err,
    });
  }
}
