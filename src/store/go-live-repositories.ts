import type { Insertable, Selectable } from 'kysely';
import type { Executor } from './repositories.js';
import type { Database, Flag } from './schema.js';

export type WebhookRow = Selectable<Database['webhooks']>;

/**
 * The columns go-live reads beside the main schema: its own on `streams` (migration 0011,
 * kept out of StreamsTable so that code building whole stream rows need not know them), and
 * the Multistreamer stream fields (the Multistreamer core owns `ms_streams`): a stream without
 * a row there is an ordinary stream, which pushes at publish and has no puller.
 */
type GoLiveColumns = {
  streams: {
    /** The relays of the open broadcast are on (0 during a preview and when not live). */
    pushing: Flag;
    /** A puller (ffmpeg reading `ffmpeg_pull_args`) feeds the stream. */
    pulling: Flag;
    /** The node that runs the puller. */
    pull_node: string | null;
  };
  ms_streams: { stream_id: string; preview_required: number; ffmpeg_pull_args: string | null };
};

/** Go-live state: whether a stream's relays are on, and its puller. */
export class GoLiveRepository {
  private readonly db;

  constructor(db: Executor) {
    this.db = db.withTables<GoLiveColumns>();
  }

  async state(streamId: string): Promise<{ pushing: boolean; pulling: boolean; pullNode: string | null } | undefined> {
    const row = await this.db
      .selectFrom('streams')
      .select(['pushing', 'pulling', 'pull_node'])
      .where('id', '=', streamId)
      .executeTakeFirst();
    return row && { pushing: Number(row.pushing) === 1, pulling: Number(row.pulling) === 1, pullNode: row.pull_node };
  }

  /** Sets the flag when it differs; true when it changed (so exactly one caller reports the change). */
  async setPushing(streamId: string, on: boolean): Promise<boolean> {
    const result = await this.db
      .updateTable('streams')
      .set({ pushing: on ? 1 : 0 })
      .where('id', '=', streamId)
      .where('pushing', '=', on ? 0 : 1)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Sets the flag (and the node that runs the puller) when it differs; true when it changed. */
  async setPulling(streamId: string, on: boolean, nodeId: string | null): Promise<boolean> {
    const result = await this.db
      .updateTable('streams')
      .set({ pulling: on ? 1 : 0, pull_node: on ? nodeId : null })
      .where('id', '=', streamId)
      .where('pulling', '=', on ? 0 : 1)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Streams whose puller a node was running (it stopped without stopping them). */
  async pullingOnNode(nodeId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('streams').select('id').where('pulling', '=', 1).where('pull_node', '=', nodeId).execute();
    return rows.map((r) => r.id);
  }

  async multistreamerFields(streamId: string): Promise<{ previewRequired: boolean; pullArgs: string | null } | undefined> {
    const row = await this.db
      .selectFrom('ms_streams')
      .select(['preview_required', 'ffmpeg_pull_args'])
      .where('stream_id', '=', streamId)
      .executeTakeFirst();
    return row && { previewRequired: Number(row.preview_required) === 1, pullArgs: row.ffmpeg_pull_args };
  }
}

export class WebhookRepository {
  constructor(private readonly db: Executor) {}

  listByStream(streamId: string): Promise<WebhookRow[]> {
    return this.db.selectFrom('webhooks').selectAll().where('stream_id', '=', streamId).orderBy('position').execute();
  }

  async deleteByStream(streamId: string): Promise<void> {
    await this.db.deleteFrom('webhooks').where('stream_id', '=', streamId).execute();
  }

  async insert(row: Insertable<Database['webhooks']>): Promise<void> {
    await this.db.insertInto('webhooks').values(row).execute();
  }
}
