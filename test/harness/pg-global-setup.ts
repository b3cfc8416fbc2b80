/**
 * `node --test --test-global-setup=test/harness/pg-global-setup.ts`: one Postgres for the whole run,
 * published to every test process in `DTK_TEST_PG_URL` (the runner spawns test files after global
 * setup, with this process's environment). The same setup under the name the integration brief uses;
 * the implementation is test/harness/postgres-setup.ts.
 */
export { globalSetup, globalTeardown } from './postgres-setup.ts';
