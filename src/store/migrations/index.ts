import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_initial.js';
import * as m0002 from './0002_media.js';
import * as m0003 from './0003_relays.js';
import * as m0004 from './0004_streamapi.js';
import * as m0005 from './0005_kickfolio.js';
import * as m0006 from './0006_one_open_broadcast.js';

/** Every migration, in order. Compiled into the program, so no files are read at run time. */
const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_media': m0002,
  '0003_relays': m0003,
  '0004_streamapi': m0004,
  '0005_kickfolio': m0005,
  '0006_one_open_broadcast': m0006,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
