import { randomBytes } from 'node:crypto';
import { emit, type CoreContext } from '../../kernel/context.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError, type FieldErrors } from '../../kernel/errors.js';
import { freeRandomId, MAX_INT32_ID, newId, randomPublicNumber, secretsEqual, type AccountId, type BroadcastId, type StreamId } from '../../kernel/ids.js';
import type { Site } from './sites.js';
import { claimStreamSlot, newStreamRow } from '../../streams/streams.js';
import type { AccountQuotas } from '../../accounts/quotas.js';
import type { AccountRow } from '../../../store/repositories/accounts.js';
import type { BroadcastRow } from '../../../store/repositories/broadcasts.js';
import type { StreamRow } from '../../../store/repositories/streams.js';
import { isUniqueViolation } from '../../../store/database.js';
import type { Repositories } from '../../../store/store.js';

/**
 * A site's live session (StreamAPI): a stream owned by one of the site's users, known to
 * viewers by a numeric public host id and to its broadcaster by a private host id, which is
 * the stream's key. An encoder may also publish as `<public_host_id>-<fme_key>`.
 */
export interface SiteSession {
  streamId: StreamId;
  publicHostId: string;
  privateHostId: string;
  username: string;
  siteUserId: string | null;
  isPrivate: boolean;
  siteId: string;
}

export interface LiveSiteSession extends SiteSession {
  broadcastId: BroadcastId;
  startedAt: string;
  /** Seconds live so far. */
  duration: number;
}

export interface SiteRecording {
  session: SiteSession;
  broadcastId: BroadcastId;
  streamId: StreamId;
  startedAt: string;
  /** Seconds of recorded media. */
  duration: number;
  bytes: number;
}

export interface NewSiteSession {
  siteUserId?: string | undefined;
  username?: string | undefined;
  fmeKey?: string | undefined;
  isPrivate?: boolean | undefined;
}

const DIGITS = /^[0-9]{1,20}$/;
const ALNUM = /^[a-zA-Z0-9]{1,64}$/;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const FME_NAME = /^([0-9]{1,20})-([a-zA-Z0-9]{1,64})$/;

/** 26 characters of [A-Z2-7]: 130 random bits, the private host id and stream key of a session. */
function newPrivateHostId(): string {
  // The low 5 bits of a uniform byte are uniform: 26 x 5 = 130 bits.
  return [...randomBytes(26)].map((b) => BASE32[b & 31]).join('');
}

/** Where made-up public host ids are drawn from: 10 digits, as the document's `1000016132`, within a signed 32-bit integer. */
const PUBLIC_HOST_ID_MIN = 1_000_000_000;

/**
 * A public host id for a session whose site gave none: random (a counter would tell every site
 * how many sessions the server holds), and taken by no stream, deleted ones included.
 */
function freePublicHostId(tx: Repositories): Promise<string> {
  return freeRandomId(
    () => String(randomPublicNumber(PUBLIC_HOST_ID_MIN, MAX_INT32_ID)),
    async (candidate) => !(await tx.streams.publicHostIdTaken(candidate)),
  );
}

export class SiteSessionService {
  constructor(
    private readonly ctx: CoreContext,
    private readonly quotas: AccountQuotas,
  ) {}

  private toSession(stream: StreamRow, owner: AccountRow | undefined): SiteSession {
    return {
      streamId: stream.id as StreamId,
      publicHostId: stream.public_host_id ?? '',
      privateHostId: stream.private_host_id ?? '',
      username: owner?.username ?? '',
      siteUserId: owner?.external_id ?? null,
      isPrivate: stream.is_private === 1,
      siteId: stream.tenant,
    };
  }

  private async withOwner(stream: StreamRow): Promise<SiteSession> {
    return this.toSession(stream, await this.ctx.store.accounts.findById(stream.owner_id));
  }

  /**
   * Creates the session of a site user, or returns the one they have (updating the encoder
   * key, privacy and name when given). `site_user_id`, when given, is the public host id.
   */
  async create(site: Site, input: NewSiteSession): Promise<SiteSession> {
    const errors: FieldErrors = {};
    if (input.siteUserId !== undefined && !DIGITS.test(input.siteUserId)) errors.site_user_id = 'must be 1 to 20 digits';
    if (input.username !== undefined && !ALNUM.test(input.username)) errors.username = 'must be 1 to 64 letters or digits';
    if (input.fmeKey !== undefined && !ALNUM.test(input.fmeKey)) errors.fme_key = 'must be 1 to 64 letters or digits';
    if (Object.keys(errors).length > 0) throw new ValidationError('Invalid session parameters', errors);

    const now = this.ctx.now();
    try {
      // The event of a new stream goes out once its rows have committed (its observers read them).
      let created: { streamId: StreamId; ownerId: AccountId } | undefined;
      let renamed: AccountId | undefined;
      /** A stream whose privacy this call changed (what every API's view of it shows). */
      let updated: StreamId | undefined;
      const session = await this.ctx.store.transaction(async (tx) => {
        let owner = input.siteUserId !== undefined ? await tx.accounts.findByExternalId(site.id, input.siteUserId) : undefined;
        if (owner) {
          const [existing] = await tx.streams.listByOwner(owner.id);
          if (existing) {
            await tx.streams.updateSession(
              existing.id,
              {
                ...(input.fmeKey !== undefined ? { fme_key: input.fmeKey } : {}),
                ...(input.isPrivate !== undefined ? { is_private: input.isPrivate ? 1 : 0 } : {}),
              },
              now,
            );
            if (input.isPrivate !== undefined && (input.isPrivate ? 1 : 0) !== existing.is_private) updated = existing.id as StreamId;
            if (input.username !== undefined && input.username !== owner.username) {
              await tx.accounts.updateUsername(owner.id, input.username, now);
              renamed = owner.id as AccountId;
              owner = { ...owner, username: input.username };
            }
            return this.toSession(
              {
                ...existing,
                fme_key: input.fmeKey ?? existing.fme_key,
                is_private: input.isPrivate === undefined ? existing.is_private : input.isPrivate ? 1 : 0,
              },
              owner,
            );
          }
        }
        const publicHostId = input.siteUserId ?? (await freePublicHostId(tx));
        const taken = await tx.streams.findByPublicHostId(publicHostId);
        if (taken) {
          if (taken.tenant !== site.id) throw new ForbiddenError('That host id belongs to another site');
          throw new ConflictError('That host id is taken', { site_user_id: 'is already a public host id' });
        }
        if (!owner) {
          const accountId = newId<'AccountId'>();
          owner = {
            id: accountId,
            tenant: site.id,
            username: input.username ?? `user${publicHostId}`,
            email: null,
            email_key: null,
            password_hash: null,
            is_active: 1,
            is_admin: 0,
            external_id: input.siteUserId ?? null,
            display_name: null,
            extra_info: null,
            avatar_url: null,
            device_uuid: null,
            credential_version: 0,
            created_at: now,
            updated_at: now,
          };
          await tx.accounts.insert(owner);
        }
        await claimStreamSlot(tx, this.quotas, owner.id as AccountId);
        const privateHostId = newPrivateHostId();
        const stream: StreamRow = {
          ...newStreamRow({ id: newId<'StreamId'>(), ownerId: owner.id as AccountId, tenant: site.id, key: privateHostId, now }),
          is_private: input.isPrivate ? 1 : 0,
          public_host_id: publicHostId,
          private_host_id: privateHostId,
          fme_key: input.fmeKey ?? null,
        };
        await tx.streams.insert(stream);
        created = { streamId: stream.id as StreamId, ownerId: owner.id as AccountId };
        return this.toSession(stream, owner);
      });
      if (created) await emit(this.ctx, { type: 'stream.created', ...created });
      // An existing session's stream made private or public: viewers' next requests see it.
      else if (input.isPrivate !== undefined) await emit(this.ctx, { type: 'playback.access_changed', streamId: session.streamId, broadcastId: null });
      if (renamed) await emit(this.ctx, { type: 'account.updated', accountId: renamed });
      if (updated) await emit(this.ctx, { type: 'stream.updated', streamId: updated });
      return session;
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError('That host id is taken', { site_user_id: 'is already a public host id' });
      throw err;
    }
  }

  /** The site's session with this public host id: NotFoundError when none, ForbiddenError when another site's. */
  async byPublicHostId(site: Site, publicHostId: string): Promise<SiteSession> {
    const stream = DIGITS.test(publicHostId) ? await this.ctx.store.streams.findByPublicHostId(publicHostId) : undefined;
    if (!stream) throw new NotFoundError('No session with that public host id');
    if (stream.tenant !== site.id) throw new ForbiddenError('The session was not created by this caller');
    return this.withOwner(stream);
  }

  async byPrivateHostId(site: Site, privateHostId: string): Promise<SiteSession> {
    const stream = /^[A-Z0-9]{1,64}$/.test(privateHostId) ? await this.ctx.store.streams.findByPrivateHostId(privateHostId) : undefined;
    if (!stream) throw new NotFoundError('No session with that private host id');
    if (stream.tenant !== site.id) throw new ForbiddenError('The session was not created by this caller');
    return this.withOwner(stream);
  }

  /** The session of any site by public host id, for viewers; undefined when none. */
  async findPublic(publicHostId: string): Promise<SiteSession | undefined> {
    const stream = DIGITS.test(publicHostId) ? await this.ctx.store.streams.findByPublicHostId(publicHostId) : undefined;
    return stream ? this.withOwner(stream) : undefined;
  }

  /** The session of a stream, when the stream is one. */
  async ofStream(streamId: string): Promise<SiteSession | undefined> {
    const stream = await this.ctx.store.streams.findById(streamId);
    return stream?.public_host_id ? this.withOwner(stream) : undefined;
  }

  /** The broadcast in progress of a session, if any. */
  async liveBroadcast(session: SiteSession): Promise<BroadcastRow | undefined> {
    return this.ctx.store.broadcasts.findOpen(session.streamId);
  }

  /** The site's sessions that are live now. */
  async live(site: Site): Promise<LiveSiteSession[]> {
    const streams = await this.ctx.store.streams.listByTenant(site.id);
    const out: LiveSiteSession[] = [];
    const now = Date.parse(this.ctx.now());
    for (const stream of streams) {
      const open = await this.ctx.store.broadcasts.findOpen(stream.id);
      if (!open) continue;
      const session = await this.withOwner(stream);
      out.push({
        ...session,
        broadcastId: open.id as BroadcastId,
        startedAt: open.started_at,
        duration: Math.max(0, (now - Date.parse(open.started_at)) / 1000),
      });
    }
    return out;
  }

  /** The site's recordings: ended broadcasts, by session and by start time (inclusive bounds). */
  async recordings(site: Site, filter: { publicHostId?: string; from?: string; to?: string }): Promise<SiteRecording[]> {
    let streams = await this.ctx.store.streams.listByTenant(site.id);
    if (filter.publicHostId !== undefined) streams = streams.filter((s) => s.public_host_id === filter.publicHostId);
    const sessions = new Map<string, SiteSession>();
    for (const stream of streams) sessions.set(stream.id, await this.withOwner(stream));
    const broadcasts = (
      await this.ctx.store.broadcasts.listForStreams(
        streams.map((s) => s.id),
        { ...(filter.from !== undefined ? { from: filter.from } : {}), ...(filter.to !== undefined ? { to: filter.to } : {}) },
      )
    ).filter((b) => b.ended_at !== null);
    const totals = await this.ctx.store.segments.totals(broadcasts.map((b) => b.id));
    return broadcasts
      .map((b) => {
        const total = totals.get(b.id);
        return {
          session: sessions.get(b.stream_id)!,
          broadcastId: b.id as BroadcastId,
          streamId: b.stream_id as StreamId,
          startedAt: b.started_at,
          duration: (total?.durationMs ?? 0) / 1000,
          bytes: total?.bytes ?? 0,
        };
      })
      .filter((r) => r.duration > 0);
  }

  /**
   * The stream key an encoder means by `<public_host_id>-<fme_key>`, or undefined when the
   * name names no session or its key does not match (compared in constant time).
   */
  async keyForEncoderName(name: string): Promise<string | undefined> {
    const match = FME_NAME.exec(name);
    if (!match) return undefined;
    const stream = await this.ctx.store.streams.findByPublicHostId(match[1]!);
    if (!stream || stream.fme_key === null || !secretsEqual(stream.fme_key, match[2]!)) return undefined;
    return stream.stream_key;
  }
}
