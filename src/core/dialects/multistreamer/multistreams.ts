import { ensureUser, type AccessUser } from './access-tokens.js';
import { attachAccount, detach, parseSettings, retarget } from './account-relays.js';
import { emit, type CoreContext } from '../../kernel/context.js';
import type { IngestServers } from '../../relays/destinations.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../kernel/errors.js';
import type { DomainEvent } from '../../kernel/events.js';
import type { BroadcastService } from '../../broadcasts/broadcasts.js';
import type { GoLiveService, GoLiveSettings } from '../../broadcasts/go-live.js';
import { freeRandomId, MAX_INT32_ID, newId, newStreamKey, randomPublicNumber, type AccountId, type StreamId, type StreamKey } from '../../kernel/ids.js';
import { checkedFfmpegArgs, type NetworkAccountService, type NetworkAccountView } from './network-accounts.js';
import { fieldValueProblem, network, type NetworkField, type NetworkName } from '../../relays/networks.js';
import { nameProblem, slugify } from '../../kernel/slugs.js';
import { OWNER_ACCESS, isLevel, shareAccess, streamRules, type Level, type StreamAccess } from '../../streams/sharing.js';
import { claimStreamSlot, newStreamRow } from '../../streams/streams.js';
import type { AccountQuotas } from '../../accounts/quotas.js';
import type { NewWebhook, Webhook, WebhookService } from './webhooks.js';
import { isUniqueViolation } from '../../../store/database.js';
import type { MsStreamRow, NetworkAccountRow } from '../../../store/repositories/dialects/multistreamer.js';
import type { Repositories } from '../../../store/store.js';

/**
 * Streams as Multistreamer users keep them: an integer id, a name with a slug unique per
 * owner, a title and description, whether publishing starts with a preview, a puller, the
 * network accounts the stream is relayed to (with per-stream metadata), shares with chat and
 * metadata levels, and webhooks. What a sharee sees and may change follows `streamRules`.
 */

export const STREAM_NOT_VISIBLE = 'unauthorized to access that stream';
export const STREAM_NOT_USABLE = 'unauthorized to use that stream';
export const STREAM_NOT_EDITABLE = 'unauthorized to edit stream';

export const TEXT_MAX_LENGTH = 5000;

export interface AttachmentInput {
  id: number;
  settings?: Record<string, unknown>;
  /** undefined: keep what the attachment had; null or blank: none. */
  ffmpegArgs?: string | null;
}

export interface ShareInput {
  userId: number;
  chatLevel: Level;
  metadataLevel: Level;
}

export interface StreamInput {
  name?: string;
  title?: string | null;
  description?: string | null;
  previewRequired?: boolean;
  ffmpegPullArgs?: string | null;
  /** The whole set of accounts the stream relays to. */
  accounts?: AttachmentInput[];
  /** The whole set of shares (null: none); owner only. */
  shares?: ShareInput[] | null;
  /** The whole list of webhooks (null: none). */
  webhooks?: NewWebhook[] | null;
}

export interface MetadataFieldView extends NetworkField {
  value: string | undefined;
}

export interface AttachedAccountView {
  account: NetworkAccountView;
  settings: Record<string, string>;
  ffmpegArgs: string | null;
  /** The network's per-stream fields with this stream's values. */
  metadataFields: MetadataFieldView[];
}

export interface StreamShareView {
  user: AccessUser;
  chatLevel: Level;
  metadataLevel: Level;
  createdAt: string;
  updatedAt: string;
}

/** A stream as one user sees it: the parts their access hides are absent. */
export interface StreamView {
  streamId: StreamId;
  id: number;
  owner: AccessUser;
  name: string;
  slug: string;
  /** Its relays are pushing. */
  live: boolean;
  createdAt: string;
  updatedAt: string;
  access: StreamAccess;
  /** Metadata level 1 and up. */
  metadata?: {
    title: string | null;
    description: string | null;
    previewRequired: boolean;
    ffmpegPullArgs: string | null;
    accounts: AttachedAccountView[];
  };
  /** Metadata level 2 (and the owner): the RTMP key, a secret, and the webhooks with their secrets. */
  key?: StreamKey;
  webhooks?: Webhook[];
  /** The owner only. */
  shares?: StreamShareView[];
}

interface PreparedAttachment {
  row: NetworkAccountRow;
  settings: Record<string, string>;
  ffmpegArgs: string | null | undefined;
}

/**
 * The integer id of a new stream: random within a signed 32-bit integer (the original's serial
 * counted up, telling every user how many streams the server holds), and free.
 */
export function freeStreamNumber(tx: Repositories): Promise<number> {
  return freeRandomId(
    () => randomPublicNumber(1, MAX_INT32_ID),
    async (candidate) => !(await tx.msStreams.findByNumber(candidate)),
  );
}

export class MultistreamService {
  constructor(
    private readonly ctx: CoreContext,
    private readonly servers: IngestServers,
    private readonly networkAccounts: NetworkAccountService,
    private readonly goLive: GoLiveService,
    private readonly webhooks: WebhookService,
    private readonly broadcasts: BroadcastService,
    private readonly quotas: AccountQuotas,
  ) {}

  /** The stream with this integer id, or undefined (whoever asks: the caller checks what they may do with it). */
  async streamIdOf(id: number): Promise<StreamId | undefined> {
    const row = Number.isSafeInteger(id) && id > 0 ? await this.ctx.store.msStreams.findByNumber(id) : undefined;
    return row ? (row.stream_id as StreamId) : undefined;
  }

  /** A stream's integer id, slug and name, and its owner's account, for what is said of it outside (webhooks). */
  async describe(streamId: StreamId): Promise<{ id: number; slug: string; name: string; ownerId: AccountId } | undefined> {
    const row = await this.ctx.store.msStreams.findByStream(streamId);
    return row ? { id: Number(row.number), slug: row.slug, name: row.name, ownerId: row.owner_id as AccountId } : undefined;
  }

  /** The stream's go-live settings (`preview_required`, `ffmpeg_pull_args`); undefined for a stream made elsewhere. */
  async goLiveSettings(streamId: StreamId): Promise<GoLiveSettings | undefined> {
    const row = await this.ctx.store.msStreams.findByStream(streamId);
    return row ? { previewRequired: Number(row.preview_required) === 1, pullArgs: row.ffmpeg_pull_args } : undefined;
  }

  /** What `userId` may do with the stream with this integer id; NotFoundError(`notVisible`) when nothing. */
  async resolve(userId: AccountId, id: number, notVisible = STREAM_NOT_USABLE): Promise<{ row: MsStreamRow; access: StreamAccess }> {
    const row = Number.isSafeInteger(id) && id > 0 ? await this.ctx.store.msStreams.findByNumber(id) : undefined;
    const access = row ? await this.accessOf(userId, row) : undefined;
    if (!row || !access) throw new NotFoundError(notVisible);
    return { row, access };
  }

  /** The stream a user may switch (go live, stop, the puller): metadata level 2, as in the original. */
  async switchable(userId: AccountId, id: number): Promise<StreamId> {
    const { row, access } = await this.resolve(userId, id);
    if (!streamRules.editMetadata(access)) throw new NotFoundError(STREAM_NOT_USABLE);
    return row.stream_id as StreamId;
  }

  /** The stream whose chat a user may inject messages into: chat level 2. */
  async chatWritable(userId: AccountId, id: number): Promise<StreamId> {
    const { row, access } = await this.resolve(userId, id);
    if (!streamRules.postChat(access)) throw new NotFoundError(STREAM_NOT_USABLE);
    return row.stream_id as StreamId;
  }

  async list(userId: AccountId): Promise<StreamView[]> {
    const rows = await this.ctx.store.msStreams.visibleTo(userId);
    const views: StreamView[] = [];
    for (const row of rows) {
      const access = await this.accessOf(userId, row);
      if (access) views.push(await this.view(row, access));
    }
    return views;
  }

  async get(userId: AccountId, id: number): Promise<StreamView> {
    const { row, access } = await this.resolve(userId, id, STREAM_NOT_VISIBLE);
    return this.view(row, access);
  }

  async create(ownerId: AccountId, input: StreamInput): Promise<StreamView> {
    if (input.name === undefined) throw new ValidationError('name needed when making new stream', { name: 'is required' });
    const checked = await this.check(ownerId, ownerId, undefined, input);
    const streamId = newId<'StreamId'>();
    const key = newStreamKey();
    const now = this.ctx.now();
    let number = 0;
    await this.write(input.name, checked.webhooks === undefined ? undefined : { streamId, hooks: checked.webhooks }, async (tx) => {
      await ensureUser(tx, ownerId, now);
      await claimStreamSlot(tx, this.quotas, ownerId);
      if (await tx.msStreams.findBySlug(ownerId, checked.slug!)) throw new ConflictError(`Stream name conflicts with "${input.name}"`);
      number = await freeStreamNumber(tx);
      await tx.streams.insert({
        ...newStreamRow({ id: streamId, ownerId, tenant: '', key, now }),
        title: input.title ?? null,
        description: input.description ?? null,
      });
      await tx.msStreams.insert({
        stream_id: streamId,
        number,
        owner_id: ownerId,
        name: input.name!,
        slug: checked.slug!,
        preview_required: input.previewRequired ? 1 : 0,
        ffmpeg_pull_args: checked.pullArgs ?? null,
        updated_at: now,
      });
      const events: DomainEvent[] = [{ type: 'stream.created', streamId, ownerId }];
      events.push(...(await this.applyAttachments(tx, streamId, checked.attachments, now)));
      if (checked.shares) await this.applyShares(tx, streamId, checked.shares, now);
      return events;
    });
    return this.get(ownerId, number);
  }

  /** Changes what the input names; metadata level 2 needed, shares need the owner. Nothing changes unless all of it does. */
  async update(userId: AccountId, id: number, input: StreamInput): Promise<StreamView> {
    const { row, access } = await this.resolve(userId, id);
    if (!streamRules.editMetadata(access)) throw new ForbiddenError(STREAM_NOT_EDITABLE);
    if (input.shares !== undefined && !streamRules.manage(access)) throw new ForbiddenError(STREAM_NOT_EDITABLE);
    const checked = await this.check(userId, row.owner_id as AccountId, row, input);
    const now = this.ctx.now();
    const name = input.name ?? row.name;
    await this.write(name, checked.webhooks === undefined ? undefined : { streamId: row.stream_id as StreamId, hooks: checked.webhooks }, async (tx) => {
      const current = await tx.msStreams.findByStream(row.stream_id);
      if (!current) throw new NotFoundError(STREAM_NOT_USABLE);
      if (checked.slug !== undefined && checked.slug !== current.slug) {
        const other = await tx.msStreams.findBySlug(current.owner_id, checked.slug);
        if (other && other.stream_id !== current.stream_id) throw new ConflictError(`Stream name conflicts with "${name}"`);
      }
      await tx.msStreams.update(row.stream_id, {
        ...(input.name !== undefined ? { name: input.name, slug: checked.slug! } : {}),
        ...(input.previewRequired !== undefined ? { preview_required: input.previewRequired ? 1 : 0 } : {}),
        ...(checked.pullArgs !== undefined ? { ffmpeg_pull_args: checked.pullArgs } : {}),
        updated_at: now,
      });
      await tx.msStreams.updateStreamText(
        row.stream_id,
        { ...(input.title !== undefined ? { title: input.title } : {}), ...(input.description !== undefined ? { description: input.description } : {}) },
        now,
      );
      const events = await this.applyAttachments(tx, row.stream_id, checked.attachments, now);
      if (checked.shares) await this.applyShares(tx, row.stream_id, checked.shares, now);
      // The title and description are the platform stream's, which every API shows.
      if (input.title !== undefined || input.description !== undefined) events.push({ type: 'stream.updated', streamId: row.stream_id as StreamId });
      return events;
    });
    return this.get(userId, id);
  }

  /** The owner deletes the stream: its key stops working and its relays stop. */
  async remove(userId: AccountId, id: number): Promise<void> {
    const { row, access } = await this.resolve(userId, id);
    if (!streamRules.manage(access)) throw new NotFoundError(STREAM_NOT_USABLE);
    const now = this.ctx.now();
    await this.write(row.name, undefined, async (tx) => {
      const events: DomainEvent[] = [];
      for (const attachment of await tx.streamAccounts.listByStream(row.stream_id)) events.push(await detach(tx, attachment));
      for (const share of await tx.streamShares.listByStream(row.stream_id)) await tx.streamShares.delete(row.stream_id, share.user_id);
      await tx.msStreams.delete(row.stream_id);
      await tx.msStreams.markStreamDeleted(row.stream_id, now);
      // Its key opens nothing from now on: whoever keeps what it opened (a relay plan) forgets it.
      events.push({ type: 'stream.deleted', streamId: row.stream_id as StreamId, ownerId: row.owner_id as AccountId });
      return events;
    });
    // A puller would go on feeding a stream that is gone (a looping or live source never ends).
    await this.goLive.setPulling(row.stream_id as StreamId, false);
    // A publisher connected now would too: ending the broadcast cuts it (the media plane follows).
    await this.broadcasts.end(row.stream_id as StreamId);
  }

  /** Every check that needs no write, so a bad request is refused before anything changes. */
  private async check(
    userId: AccountId,
    ownerId: AccountId,
    current: MsStreamRow | undefined,
    input: StreamInput,
  ): Promise<{ slug?: string; pullArgs?: string | null; attachments?: PreparedAttachment[]; shares?: { accountId: string; chatLevel: Level; metadataLevel: Level }[]; webhooks?: NewWebhook[] }> {
    const out: Awaited<ReturnType<MultistreamService['check']>> = {};
    if (input.name !== undefined) {
      const problem = nameProblem('stream', input.name);
      if (problem) throw new ValidationError(problem, { name: problem });
      out.slug = slugify(input.name);
      // Checked again in the write's transaction (a race); here so a conflict touches no webhook.
      const other = await this.ctx.store.msStreams.findBySlug(ownerId, out.slug);
      if (other && other.stream_id !== current?.stream_id) throw new ConflictError(`Stream name conflicts with "${input.name}"`);
    }
    for (const [key, value] of [['title', input.title], ['description', input.description]] as const) {
      if (typeof value === 'string' && value.length > TEXT_MAX_LENGTH) throw new ValidationError(`${key} must be at most ${TEXT_MAX_LENGTH} characters`, { [key]: 'is too long' });
    }
    if (input.ffmpegPullArgs !== undefined) {
      const text = input.ffmpegPullArgs?.trim() ?? '';
      if (text === '') {
        out.pullArgs = null;
      } else {
        await this.goLive.checkPullArgs(text);
        out.pullArgs = text;
      }
    }
    if (input.accounts !== undefined) out.attachments = await this.checkAttachments(userId, current, input.accounts);
    if (input.shares !== undefined) {
      const shares = [];
      for (const share of input.shares ?? []) {
        if (!isLevel(share.chatLevel) || !isLevel(share.metadataLevel)) throw new ValidationError('chat_level and metadata_level must be 0, 1 or 2', { shares: 'has a bad level' });
        const user = Number.isSafeInteger(share.userId) && share.userId > 0 ? await this.ctx.store.msUsers.findByNumber(share.userId) : undefined;
        if (!user) throw new ValidationError(`user ${share.userId} not found`, { shares: 'names an unknown user' });
        if (user.account_id === ownerId) continue;
        const at = shares.findIndex((s) => s.accountId === user.account_id);
        if (at >= 0) shares.splice(at, 1);
        shares.push({ accountId: user.account_id, chatLevel: share.chatLevel, metadataLevel: share.metadataLevel });
      }
      out.shares = shares;
    }
    if (input.webhooks !== undefined) out.webhooks = input.webhooks ?? [];
    return out;
  }

  private async checkAttachments(userId: AccountId, current: MsStreamRow | undefined, inputs: AttachmentInput[]): Promise<PreparedAttachment[]> {
    const attached = new Set(current ? (await this.ctx.store.streamAccounts.listByStream(current.stream_id)).map((a) => Number(a.network_account_id)) : []);
    const seen = new Set<number>();
    const out: PreparedAttachment[] = [];
    for (const input of inputs) {
      if (seen.has(input.id)) throw new ValidationError(`account ${input.id} is listed twice`, { accounts: 'lists an account twice' });
      seen.add(input.id);
      // An account may be kept on the stream by a sharee who cannot use it; it may be added only by someone who can.
      const row = attached.has(input.id)
        ? await this.ctx.store.networkAccounts.findById(input.id)
        : await this.networkAccounts.usableRow(this.ctx.store, userId, input.id);
      if (!row) throw new NotFoundError('unauthorized to use that account');
      const fields = network(row.network as NetworkName).metadataFields;
      const given = input.settings ?? {};
      for (const key of Object.keys(given)) {
        if (!fields.some((f) => f.key === key)) throw new ValidationError(`unknown setting ${key} for a ${row.network} account`, { [key]: 'is unknown' });
      }
      const settings: Record<string, string> = {};
      for (const field of fields) {
        const value = given[field.key];
        if (value === undefined || value === null || value === '') {
          if (field.required) throw new ValidationError(`missing required field ${field.key}`, { [field.key]: 'is required' });
          continue;
        }
        const problem = fieldValueProblem(field, value);
        if (problem) throw new ValidationError(problem, { [field.key]: problem });
        settings[field.key] = value as string;
      }
      out.push({ row, settings, ffmpegArgs: input.ffmpegArgs === undefined ? undefined : checkedFfmpegArgs(input.ffmpegArgs) });
    }
    return out;
  }

  /** Makes the stream's attachments exactly `wanted`, keeping each relay's destination in step. */
  private async applyAttachments(tx: Repositories, streamId: string, wanted: PreparedAttachment[] | undefined, now: string): Promise<DomainEvent[]> {
    if (wanted === undefined) return [];
    const events: DomainEvent[] = [];
    const existing = new Map((await tx.streamAccounts.listByStream(streamId)).map((a) => [Number(a.network_account_id), a]));
    for (const [accountId, attachment] of existing) {
      if (!wanted.some((w) => w.row.id === accountId)) events.push(await detach(tx, attachment));
    }
    for (const want of wanted) {
      const row = await tx.networkAccounts.findById(want.row.id);
      if (!row) throw new NotFoundError('unauthorized to use that account');
      const had = existing.get(Number(row.id));
      if (!had) {
        events.push(await attachAccount(tx, streamId, row, { settings: want.settings, ffmpegArgs: want.ffmpegArgs ?? null }, this.servers, now));
        continue;
      }
      const ffmpegArgs = want.ffmpegArgs === undefined ? had.ffmpeg_args : want.ffmpegArgs;
      await tx.streamAccounts.update(streamId, row.id, { settings: JSON.stringify(want.settings), ffmpeg_args: ffmpegArgs, updated_at: now });
      if (ffmpegArgs !== had.ffmpeg_args) events.push(await retarget(tx, { ...had, ffmpeg_args: ffmpegArgs }, row, this.servers));
    }
    return events;
  }

  private async applyShares(tx: Repositories, streamId: string, wanted: { accountId: string; chatLevel: Level; metadataLevel: Level }[], now: string): Promise<void> {
    const existing = new Map((await tx.streamShares.listByStream(streamId)).map((s) => [s.user_id, s]));
    for (const userId of existing.keys()) {
      if (!wanted.some((w) => w.accountId === userId && (w.chatLevel > 0 || w.metadataLevel > 0))) await tx.streamShares.delete(streamId, userId);
    }
    for (const want of wanted) {
      // Both levels 0 is no access at all: no share.
      if (want.chatLevel === 0 && want.metadataLevel === 0) continue;
      const had = existing.get(want.accountId);
      if (!had) {
        await tx.streamShares.insert({ stream_id: streamId, user_id: want.accountId, chat_level: want.chatLevel, metadata_level: want.metadataLevel, created_at: now, updated_at: now });
      } else if (Number(had.chat_level) !== want.chatLevel || Number(had.metadata_level) !== want.metadataLevel) {
        await tx.streamShares.update(streamId, want.accountId, { chat_level: want.chatLevel, metadata_level: want.metadataLevel, updated_at: now });
      }
    }
  }

  /**
   * Runs `work` and, when given, replaces the stream's webhooks, in one transaction: a refused
   * request leaves neither the stream nor its hooks changed, and kept hooks keep their ids and
   * secrets. The hooks are checked before anything is written.
   */
  private async write(
    name: string,
    webhooks: { streamId: StreamId; hooks: NewWebhook[] } | undefined,
    work: (tx: Repositories) => Promise<DomainEvent[]>,
  ): Promise<void> {
    if (webhooks) await this.webhooks.validate(webhooks.hooks);
    let events: DomainEvent[];
    try {
      events = await this.ctx.store.transaction(async (tx) => {
        const done = await work(tx);
        if (webhooks) await this.webhooks.replaceIn(tx, webhooks.streamId, webhooks.hooks);
        return done;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`Stream name conflicts with "${name}"`);
      throw err;
    }
    for (const event of events) await emit(this.ctx, event);
  }

  private async accessOf(userId: AccountId, row: MsStreamRow): Promise<StreamAccess | undefined> {
    if (row.owner_id === userId) return OWNER_ACCESS;
    return shareAccess(await this.ctx.store.streamShares.find(row.stream_id, userId));
  }

  private async view(row: MsStreamRow, access: StreamAccess): Promise<StreamView> {
    const stream = await this.ctx.store.streams.findById(row.stream_id);
    if (!stream) throw new NotFoundError(STREAM_NOT_USABLE);
    const streamId = row.stream_id as StreamId;
    const status = await this.goLive.status(streamId);
    const users = await this.ctx.store.msUsers.byAccounts([row.owner_id]);
    const owner = users.get(row.owner_id);
    const view: StreamView = {
      streamId,
      id: Number(row.number),
      owner: { accountId: row.owner_id as AccountId, id: owner?.number ?? 0, username: owner?.username ?? '' },
      name: row.name,
      slug: row.slug,
      live: status.dataPushing,
      createdAt: stream.created_at,
      updatedAt: row.updated_at > stream.updated_at ? row.updated_at : stream.updated_at,
      access,
    };
    if (streamRules.readMetadata(access)) {
      const accounts: AttachedAccountView[] = [];
      for (const attachment of await this.ctx.store.streamAccounts.listByStream(row.stream_id)) {
        const account = await this.ctx.store.networkAccounts.findById(Number(attachment.network_account_id));
        if (!account) continue;
        const settings = parseSettings(attachment.settings);
        accounts.push({
          account: await this.networkAccounts.view(account, null),
          settings,
          ffmpegArgs: attachment.ffmpeg_args,
          metadataFields: network(account.network as NetworkName).metadataFields.map((f) => ({ ...f, value: settings[f.key] })),
        });
      }
      view.metadata = {
        title: stream.title,
        description: stream.description,
        previewRequired: Number(row.preview_required) === 1,
        ffmpegPullArgs: row.ffmpeg_pull_args,
        accounts,
      };
    }
    if (streamRules.editMetadata(access)) {
      view.key = stream.stream_key as StreamKey;
      view.webhooks = await this.webhooks.list(streamId);
    }
    if (streamRules.manage(access)) {
      const shares = await this.ctx.store.streamShares.listByStream(row.stream_id);
      const sharees = await this.ctx.store.msUsers.byAccounts(shares.map((s) => s.user_id));
      view.shares = shares.flatMap((s) => {
        const user = sharees.get(s.user_id);
        return user
          ? [{ user: { accountId: s.user_id as AccountId, id: user.number, username: user.username }, chatLevel: Number(s.chat_level) as Level, metadataLevel: Number(s.metadata_level) as Level, createdAt: s.created_at, updatedAt: s.updated_at }]
          : [];
      });
    }
    return view;
  }
}
