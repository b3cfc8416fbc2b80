/**
 * Provisioning of a hub's database side: from the admin URI (the referenced Secret, or the managed Postgres), a
 * login role of the hub's own, its schema or database closed to everyone else, and the `<hub>-connection` Secret
 * workers read. The role's password is generated once and kept in that Secret, so every later pass (and a
 * restarted operator) reuses it.
 */
import { randomBytes } from 'node:crypto';
import type { OperatorContext } from '../context.ts';
import { LABELS, MANAGER } from '../crds/group.ts';
import { crashPoint } from '../runtime/crash.ts';
import type { TaskHub } from '../crds/index.ts';
import { ownerReference } from '../runtime/owner.ts';
import { secretData, secretValue } from '../runtime/objects.ts';
import type { Secret } from '../runtime/objects.ts';
import { SECRETS } from '../runtime/resources.ts';
import { managedAdminUri } from './managed.ts';
import { connectionSecretName, hubNames } from './names.ts';
import type { HubNames } from './names.ts';
import { describePgError, hubUri, parseAdminUri, ProvisioningError, withClient, withDatabase } from './postgres.ts';
import type { AdminTarget } from './postgres.ts';
import * as sql from './sql.ts';

/** What a successful provisioning pass produced. */
export interface ProvisionedHub {
  names: HubNames;
  /** The database the hub lives in. */
  database: string;
  admin: AdminTarget;
  adminUri: string;
  /** The hub role's URI (what workers get). */
  uri: string;
  schema: string;
  /** Role created in this pass (for the event). */
  createdRole: boolean;
  /** The role can still create in `public` (Postgres ≤ 14 default grant to PUBLIC). */
  publicWritable: boolean;
}

/** Where the admin URI of a hub comes from, resolved; throws ProvisioningError saying what to fix. */
export async function resolveAdmin(ctx: OperatorContext, hub: TaskHub): Promise<{ target: AdminTarget; uri: string; hint: string }> {
  const ns = hub.metadata.namespace ?? '';
  const external = hub.spec.postgres.external;
  if (external) {
    const key = external.secretRef.key ?? 'uri';
    const hint = `Secret ${ns}/${external.secretRef.name} (key '${key}')`;
    const secret = ctx.informers.secrets.get(ns, external.secretRef.name);
    if (!secret) {
      throw new ProvisioningError(
        'AdminSecretNotFound',
        `Secret ${ns}/${external.secretRef.name} not found: create it with key '${key}' holding an admin URI such as postgres://admin:password@host:5432/postgres (a user that can create roles and databases)`,
      );
    }
    const uri = secretValue(secret, key);
    if (!uri) {
      const keys = Object.keys(secret.data ?? {});
      throw new ProvisioningError(
        'AdminSecretKeyMissing',
        `Secret ${ns}/${external.secretRef.name} has no key '${key}' (it has ${keys.length ? keys.map((k) => `'${k}'`).join(', ') : 'no keys'}); add the admin postgres:// URI under '${key}' or set spec.postgres.external.secretRef.key`,
      );
    }
    return { target: parseAdminUri(uri, hint, external.sslMode), uri, hint };
  }
  const uri = await managedAdminUri(ctx, hub);
  return { target: parseAdminUri(uri, 'the managed Postgres admin Secret'), uri, hint: 'the managed Postgres admin Secret' };
}

/** Runs the full provisioning pass. Throws ProvisioningError (with a condition reason) when it cannot finish. */
export async function provisionHub(ctx: OperatorContext, hub: TaskHub): Promise<ProvisionedHub> {
  const ns = hub.metadata.namespace ?? '';
  const name = hub.metadata.name ?? '';
  const isolation = hub.spec.isolation ?? 'schema';
  const names = hubNames(ns, name, isolation);
  const { target, uri: adminUri, hint } = await resolveAdmin(ctx, hub);

  // Read fresh, not from the cache: a just-written Secret may not be in the cache yet, and a second password
  // would lock out workers that already read the first.
  const existing = await ctx.client.get<Secret>(SECRETS, ns, connectionSecretName(name));
  const password = secretValue(existing, 'password') ?? randomBytes(24).toString('base64url');
  const database = names.database ?? target.database;

  let createdRole = false;
  let publicWritable = false;
  try {
    await withClient(adminUri, async (admin) => {
      const me = await sql.adminIdentity(admin);
      createdRole = (await sql.ensureRole(admin, names.role, password, `${ns}/${name}`, me.superuser)) === 'created';
      if (isolation === 'schema') {
        await sql.ensureHubSchema(admin, names.schema, names.role);
        // The role holds CREATE on the database only while a migration runs (migrate.ts); an operator killed
        // between that migration and its revoke left it behind, and the next pass finds the schema up to date and
        // never migrates (nor revokes) again. Taking it back here closes that on the restarted operator's first pass.
        await sql.revokeCreateOnDatabase(admin, names.role);
        publicWritable = await sql.publicSchemaWritable(admin, names.role);
      } else {
        await sql.ensureHubDatabase(admin, database, names.role);
      }
    });
    if (isolation === 'database') {
      await withClient(withDatabase(target, database), (admin) => sql.hardenHubDatabase(admin, database, names.schema, names.role));
    }
  } catch (err) {
    throw describePgError(err, `${target.host}:${target.port}`, hint);
  }

  crashPoint('after-role-create');
  const uri = hubUri(target, names.role, password, database);
  await writeConnectionSecret(ctx, hub, {
    uri,
    host: target.host,
    port: target.port,
    database,
    schema: names.schema,
    user: names.role,
    password,
    ...(target.url.searchParams.get('sslmode') ? { sslmode: target.url.searchParams.get('sslmode') ?? '' } : {}),
  });
  crashPoint('after-secret-write');
  return { names, database, admin: target, adminUri, uri, schema: names.schema, createdRole, publicWritable };
}

/** Server-side applies `<hub>-connection`, owned by the TaskHub. */
async function writeConnectionSecret(ctx: OperatorContext, hub: TaskHub, values: Record<string, string>): Promise<void> {
  const name = hub.metadata.name ?? '';
  const ns = hub.metadata.namespace ?? '';
  await ctx.client.apply<Secret>(SECRETS, ns, connectionSecretName(name), {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: connectionSecretName(name),
      namespace: ns,
      labels: { [LABELS.partOf]: 'dtk', [LABELS.managedBy]: MANAGER, [LABELS.hub]: name, [LABELS.component]: 'connection' },
      ownerReferences: [ownerReference(hub)],
    },
    type: 'Opaque',
    data: secretData(values),
  } as Secret);
}
