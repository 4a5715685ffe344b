/** Kickfolio's tables: apps, versions and comments. */
import { sql, type Insertable, type Selectable, type Updateable } from 'kysely';
import type { Executor } from '../../database.js';
import type { Database } from '../../schema.js';

export type AppRow = Selectable<Database['apps']>;
export type VersionRow = Selectable<Database['app_versions']>;
export type CommentRow = Selectable<Database['app_comments']>;

export class AppRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['apps']>): Promise<void> {
    await this.db.insertInto('apps').values(row).execute();
  }

  findById(id: string): Promise<AppRow | undefined> {
    return this.db.selectFrom('apps').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async countByOwner(ownerId: string): Promise<number> {
    const row = await this.db
      .selectFrom('apps')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('owner_id', '=', ownerId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  findByPublicKey(publicKey: string): Promise<AppRow | undefined> {
    return this.db.selectFrom('apps').selectAll().where('public_key', '=', publicKey).executeTakeFirst();
  }

  /** An owner's apps, oldest first; only those with the given ids when `ids` is set. */
  listByOwner(ownerId: string, ids?: readonly string[]): Promise<AppRow[]> {
    if (ids !== undefined && ids.length === 0) return Promise.resolve([]);
    let query = this.db.selectFrom('apps').selectAll().where('owner_id', '=', ownerId);
    if (ids !== undefined) query = query.where('id', 'in', ids);
    return query.orderBy('created_at').orderBy('id').execute();
  }

  async rename(id: string, name: string, now: string): Promise<void> {
    await this.db.updateTable('apps').set({ name, updated_at: now }).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('apps').where('id', '=', id).execute();
  }
}

export interface VersionFilter {
  ownerId: string;
  appId?: string;
  ids?: readonly string[];
}

export class VersionRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['app_versions']>): Promise<void> {
    await this.db.insertInto('app_versions').values(row).execute();
  }

  findById(id: string): Promise<VersionRow | undefined> {
    return this.db.selectFrom('app_versions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  list(filter: VersionFilter): Promise<VersionRow[]> {
    if (filter.ids !== undefined && filter.ids.length === 0) return Promise.resolve([]);
    let query = this.db.selectFrom('app_versions').selectAll().where('owner_id', '=', filter.ownerId);
    if (filter.appId !== undefined) query = query.where('app_id', '=', filter.appId);
    if (filter.ids !== undefined) query = query.where('id', 'in', filter.ids);
    return query.orderBy('created_at').orderBy('id').execute();
  }

  /** The versions of the given apps, oldest first: their ids, states and what their bundles said. */
  listByApps(appIds: readonly string[]): Promise<VersionRow[]> {
    if (appIds.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('app_versions').selectAll().where('app_id', 'in', appIds).orderBy('created_at').orderBy('id').execute();
  }

  /** Applies `changes` only while the version is still at `generation`; false when it moved on (a concurrent change). */
  async updateAtGeneration(id: string, generation: number, changes: Updateable<Database['app_versions']>): Promise<boolean> {
    const result = await this.db.updateTable('app_versions').set(changes).where('id', '=', id).where('generation', '=', generation).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Applies `changes` only while the version is in `state` at `generation`: a job's result
   * lands only if nobody changed the bundle or deleted the version meanwhile.
   */
  async updateIf(id: string, state: string, generation: number, changes: Updateable<Database['app_versions']>): Promise<boolean> {
    const result = await this.db
      .updateTable('app_versions')
      .set(changes)
      .where('id', '=', id)
      .where('state', '=', state)
      .where('generation', '=', generation)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * A processing job's result, applied only while the version is processing at `generation`.
   * The bundle's version string fills `version_string` unless the user gave one, decided in
   * the same statement so that a user's edit racing the job is never overwritten.
   */
  async completeProcessing(id: string, generation: number, bundleVersionString: string | null, changes: Updateable<Database['app_versions']>): Promise<boolean> {
    const result = await this.db
      .updateTable('app_versions')
      .set({
        ...changes,
        version_string: sql<string | null>`case when version_string is null or version_string_from_bundle = 1 then ${bundleVersionString} else version_string end`,
        version_string_from_bundle: sql<0 | 1>`case when version_string is null or version_string_from_bundle = 1 then ${bundleVersionString === null ? 0 : 1} else 0 end`,
      })
      .where('id', '=', id)
      .where('state', '=', 'processing')
      .where('generation', '=', generation)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('app_versions').where('id', '=', id).execute();
  }

  /** The oldest pending versions: candidates for a worker to claim. */
  pending(limit: number): Promise<VersionRow[]> {
    return this.db.selectFrom('app_versions').selectAll().where('state', '=', 'pending').orderBy('created_at').orderBy('id').limit(limit).execute();
  }

  /** Versions being processed that were claimed by `nodeId`, or claimed before `staleBefore` by anyone. */
  interrupted(nodeId: string, staleBefore: string): Promise<VersionRow[]> {
    return this.db
      .selectFrom('app_versions')
      .selectAll()
      .where('state', '=', 'processing')
      .where((eb) => eb.or([eb('claimed_by', '=', nodeId), eb('claimed_at', '<', staleBefore)]))
      .orderBy('created_at')
      .execute();
  }
}

export class CommentRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['app_comments']>): Promise<void> {
    await this.db.insertInto('app_comments').values(row).execute();
  }

  findById(id: string): Promise<CommentRow | undefined> {
    return this.db.selectFrom('app_comments').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Comments on an owner's versions, oldest first, narrowed to one version and to `ids` when given. */
  listForOwner(ownerId: string, filter: { versionId?: string; ids?: readonly string[] } = {}): Promise<CommentRow[]> {
    if (filter.ids !== undefined && filter.ids.length === 0) return Promise.resolve([]);
    let query = this.db
      .selectFrom('app_comments')
      .innerJoin('app_versions', 'app_versions.id', 'app_comments.version_id')
      .selectAll('app_comments')
      .where('app_versions.owner_id', '=', ownerId);
    if (filter.versionId !== undefined) query = query.where('app_comments.version_id', '=', filter.versionId);
    if (filter.ids !== undefined) query = query.where('app_comments.id', 'in', filter.ids);
    return query.orderBy('app_comments.created_at').orderBy('app_comments.id').execute();
  }

  /** Comments on the given versions, oldest first; only those with the given ids when `ids` is set. */
  listByVersions(versionIds: readonly string[], ids?: readonly string[]): Promise<CommentRow[]> {
    if (versionIds.length === 0 || (ids !== undefined && ids.length === 0)) return Promise.resolve([]);
    let query = this.db.selectFrom('app_comments').selectAll().where('version_id', 'in', versionIds);
    if (ids !== undefined) query = query.where('id', 'in', ids);
    return query.orderBy('created_at').orderBy('id').execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('app_comments').where('id', '=', id).execute();
  }
}
