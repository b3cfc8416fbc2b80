/** Every migration, in order. Append only: a shipped migration never changes. */
import * as m001 from './001-initial.ts';
import * as m002 from './002-listing-and-queue-upkeep.ts';
import * as m003 from './003-dead-letters.ts';
import * as m004 from './004-instances-fillfactor.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: m001.name, sql: m001.sql },
  { version: 2, name: m002.name, sql: m002.sql },
  { version: 3, name: m003.name, sql: m003.sql },
  { version: 4, name: m004.name, sql: m004.sql },
];

/** The schema version this code expects. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS.length;
