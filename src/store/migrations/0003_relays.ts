import type { Kysely } from 'kysely';

/** Relays that transcode through ffmpeg carry their arguments (Multistreamer's `ffmpeg_args`). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('destinations').addColumn('ffmpeg_args', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('destinations').dropColumn('ffmpeg_args').execute();
}
