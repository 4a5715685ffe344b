import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_initial.js';
import * as m0002 from './0002_media.js';
import * as m0003 from './0003_relays.js';
import * as m0004 from './0004_streamapi.js';
import * as m0005 from './0005_kickfolio.js';
import * as m0006 from './0006_one_open_broadcast.js';
import * as m0007 from './0007_kickflip.js';
import * as m0008 from './0008_uploads.js';
import * as m0009 from './0009_multistreamer.js';
import * as m0010 from './0010_chat.js';
import * as m0011 from './0011_go_live.js';
import * as m0012 from './0012_upload_objects.js';
import * as m0013 from './0013_drop_shares.js';
import * as m0014 from './0014_credential_versions.js';
import * as m0015 from './0015_login_attempts.js';
import * as m0016 from './0016_api_token_digests.js';
import * as m0017 from './0017_first_broadcast_id.js';
import * as m0018 from './0018_destination_key_owner.js';
import * as m0019 from './0019_random_public_ids.js';
import * as m0020 from './0020_live_api.js';
import * as m0021 from './0021_sessions.js';
import * as m0022 from './0022_chat_moderation.js';
import * as m0023 from './0023_callback_claims.js';

/** Every migration, in order. Compiled into the program, so no files are read at run time. */
const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_media': m0002,
  '0003_relays': m0003,
  '0004_streamapi': m0004,
  '0005_kickfolio': m0005,
  '0006_one_open_broadcast': m0006,
  '0007_kickflip': m0007,
  '0008_uploads': m0008,
  '0009_multistreamer': m0009,
  '0010_chat': m0010,
  '0011_go_live': m0011,
  '0012_upload_objects': m0012,
  '0013_drop_shares': m0013,
  '0014_credential_versions': m0014,
  '0015_login_attempts': m0015,
  '0016_api_token_digests': m0016,
  '0017_first_broadcast_id': m0017,
  '0018_destination_key_owner': m0018,
  '0019_random_public_ids': m0019,
  '0020_live_api': m0020,
  '0021_sessions': m0021,
  '0022_chat_moderation': m0022,
  '0023_callback_claims': m0023,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
