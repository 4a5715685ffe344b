/** Kickflip's tables: OAuth2 tokens, tenant users, stream metadata and flags. */
import { sql, type Insertable, type Selectable, type Updateable } from 'kysely';
import type { Executor } from '../../database.js';
import type { Database } from '../../schema.js';
import type { StreamRow } from '../streams.js';

export type OauthTokenRow = Selectable<Database['oauth_tokens']>;

/** OAuth2 access tokens, by digest. */
export class OauthTokenRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['oauth_tokens']>): Promise<void> {
    await this.db.insertInto('oauth_tokens').values(row).execute();
  }

  /** The token, with the current credential version of the user it is bound to (null when unbound). */
  findWithBoundVersion(digest: string): Promise<(OauthTokenRow & { bound_credential_version: number | null }) | undefined> {
    return this.db
      .selectFrom('oauth_tokens')
      .leftJoin('accounts', 'accounts.id', 'oauth_tokens.account_id')
      .selectAll('oauth_tokens')
      .select('accounts.credential_version as bound_credential_version')
      .where('oauth_tokens.token_digest', '=', digest)
      .executeTakeFirst();
  }

  /** The token acts for this user, at the user's current credential version. */
  async bindAccount(digest: string, accountId: string, credentialVersion: number): Promise<void> {
    await this.db
      .updateTable('oauth_tokens')
      .set({ account_id: accountId, account_version: credentialVersion })
      .where('token_digest', '=', digest)
      .execute();
  }

  /** Forgets the client's tokens (its revocation) and any that have expired. */
  async deleteForClient(apiClientId: string): Promise<void> {
    await this.db.deleteFrom('oauth_tokens').where('api_client_id', '=', apiClientId).execute();
  }

  async deleteExpired(now: string): Promise<void> {
    await this.db.deleteFrom('oauth_tokens').where('expires_at', '<=', now).execute();
  }
}

/** A profile's fields; the password changes through AccountRepository.updatePassword, which raises the credential version. */
export type AccountProfileChanges = Pick<Updateable<Database['accounts']>, 'email' | 'email_key' | 'device_uuid' | 'display_name' | 'extra_info'>;

/** The parts of accounts that only tenant users (Kickflip) have. */
export class TenantUserRepository {
  constructor(private readonly db: Executor) {}

  findByDeviceUuid(tenant: string, uuid: string) {
    return this.db
      .selectFrom('accounts')
      .selectAll()
      .where('tenant', '=', tenant)
      .where('device_uuid', '=', uuid)
      .executeTakeFirst();
  }

  async updateProfile(id: string, changes: AccountProfileChanges, now: string): Promise<void> {
    await this.db
      .updateTable('accounts')
      .set({ ...changes, updated_at: now })
      .where('id', '=', id)
      .execute();
  }
}

export type StreamMetadataChanges = Pick<
  Updateable<Database['streams']>,
  | 'title'
  | 'description'
  | 'is_private'
  | 'latitude'
  | 'longitude'
  | 'end_latitude'
  | 'end_longitude'
  | 'city'
  | 'state'
  | 'country'
  | 'extra_info'
  | 'thumbnail_url'
  | 'deleted_at'
  | 'stopped_at'
>;

/** A stream row with its owner's username, as listings show it. */
export type StreamWithOwnerRow = StreamRow & { owner_username: string };

export interface StreamSearchFilter {
  tenant: string;
  /** Matched case-insensitively anywhere in the title, description or owner's username. */
  keyword?: string;
  ownerId?: string;
  /** Only streams whose latitude lies within these bounds (and have a location). */
  latitude?: { min: number; max: number };
}

/** Escapes LIKE's wildcards so a keyword matches literally. */
function likePattern(keyword: string): string {
  return `%${keyword.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Tenant streams with their descriptive metadata, deleted ones included (their owner still sees them). */
export class StreamMetadataRepository {
  constructor(private readonly db: Executor) {}

  /** Removes a stream that never got going (its upload grant failed). */
  async deleteRow(id: string): Promise<void> {
    await this.db.deleteFrom('streams').where('id', '=', id).execute();
  }

  findInTenant(tenant: string, id: string): Promise<StreamWithOwnerRow | undefined> {
    return this.db
      .selectFrom('streams')
      .innerJoin('accounts', 'accounts.id', 'streams.owner_id')
      .selectAll('streams')
      .select('accounts.username as owner_username')
      .where('streams.tenant', '=', tenant)
      .where('streams.id', '=', id)
      .executeTakeFirst();
  }

  async update(id: string, changes: StreamMetadataChanges, now: string): Promise<void> {
    await this.db
      .updateTable('streams')
      .set({ ...changes, updated_at: now })
      .where('id', '=', id)
      .execute();
  }

  private searchQuery(filter: StreamSearchFilter) {
    let query = this.db
      .selectFrom('streams')
      .innerJoin('accounts', 'accounts.id', 'streams.owner_id')
      .where('streams.tenant', '=', filter.tenant)
      .where('streams.deleted_at', 'is', null)
      .where('streams.is_private', '=', 0);
    if (filter.ownerId !== undefined) query = query.where('streams.owner_id', '=', filter.ownerId);
    if (filter.keyword !== undefined && filter.keyword !== '') {
      const pattern = likePattern(filter.keyword);
      query = query.where((eb) =>
        eb.or([
          eb(sql`lower(streams.title)`, 'like', sql`${pattern} escape '\\'`),
          eb(sql`lower(streams.description)`, 'like', sql`${pattern} escape '\\'`),
          eb(sql`lower(accounts.username)`, 'like', sql`${pattern} escape '\\'`),
        ]),
      );
    }
    if (filter.latitude !== undefined) {
      query = query
        .where('streams.latitude', 'is not', null)
        .where('streams.longitude', 'is not', null)
        .where('streams.latitude', '>=', filter.latitude.min)
        .where('streams.latitude', '<=', filter.latitude.max);
    }
    return query;
  }

  async count(filter: StreamSearchFilter): Promise<number> {
    const row = await this.searchQuery(filter)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Public, undeleted streams of the tenant matching the filter, newest first. */
  page(filter: StreamSearchFilter, offset: number, limit: number): Promise<StreamWithOwnerRow[]> {
    return this.searchQuery(filter)
      .selectAll('streams')
      .select('accounts.username as owner_username')
      .orderBy('streams.created_at', 'desc')
      .orderBy('streams.id', 'desc')
      .offset(offset)
      .limit(limit)
      .execute();
  }

  /** Every match, for a search whose order SQL cannot give (distance). */
  all(filter: StreamSearchFilter): Promise<StreamWithOwnerRow[]> {
    return this.searchQuery(filter)
      .selectAll('streams')
      .select('accounts.username as owner_username')
      .orderBy('streams.created_at', 'desc')
      .orderBy('streams.id', 'desc')
      .execute();
  }
}

export class StreamFlagRepository {
  constructor(private readonly db: Executor) {}

  /** Records the flag; false when this user had already flagged the stream. */
  async insertOnce(streamId: string, accountId: string, now: string): Promise<boolean> {
    const result = await this.db
      .insertInto('stream_flags')
      .values({ stream_id: streamId, account_id: accountId, created_at: now })
      .onConflict((oc) => oc.columns(['stream_id', 'account_id']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async count(streamId: string): Promise<number> {
    const row = await this.db
      .selectFrom('stream_flags')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('stream_id', '=', streamId)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }
}
