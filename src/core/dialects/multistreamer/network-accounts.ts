import type { AccessUser } from './access-tokens.js';
import { detach, parseSettings, retarget } from './account-relays.js';
import type { EgressPolicy } from '../../egress/policy.js';
import { emit, type CoreContext } from '../../kernel/context.js';
import type { IngestServers } from '../../relays/destinations.js';
import { ConflictError, NotFoundError, ValidationError } from '../../kernel/errors.js';
import type { DomainEvent } from '../../kernel/events.js';
import { FfmpegArgsError, parseFfmpegArgs } from '../../relays/ffmpeg-args.js';
import type { AccountId, StreamId } from '../../kernel/ids.js';
import { fieldValueProblem, isNetworkName, network, NETWORKS, type NetworkName } from '../../relays/networks.js';
import { redactPublishUrl } from '../../relays/publish-url.js';
import { nameProblem, slugify } from '../../kernel/slugs.js';
import { isUniqueViolation } from '../../../store/database.js';
import type { NetworkAccountRow } from '../../../store/repositories/dialects/multistreamer.js';
import type { Repositories } from '../../../store/store.js';


/**
 * Network accounts: where their owner (and those they share them with) can relay streams to.
 * Twitch and YouTube accounts hold the network's ingest key; custom RTMP accounts a whole URL.
 */
export interface NetworkAccountView {
  id: number;
  owner: AccessUser;
  network: NetworkName;
  name: string;
  slug: string;
  /**
   * The account's settings, secrets (a network's stream key) left out, and a publish URL that
   * carries the owner's key shown whole to the owner only (others see its stream name hidden).
   */
  settings: Record<string, string>;
  ffmpegArgs: string | null;
  createdAt: string;
  updatedAt: string;
  /** Who else may use it: shown to the owner only. */
  shares?: AccessUser[];
}

export interface NewNetworkAccount {
  network: string;
  /** Also accepted as `settings.name`, as the original's custom RTMP form had it. */
  name?: string;
  settings: Record<string, unknown>;
  ffmpegArgs?: string | null;
  /** Integer user ids to share it with. */
  shares?: number[];
}

export interface NetworkAccountChanges {
  /** Keys set to a string change, keys set to null are removed, absent keys stay. */
  settings?: Record<string, unknown>;
  /** undefined: unchanged; null or blank: none. */
  ffmpegArgs?: string | null;
  /** The whole set of users it is shared with (null: nobody); undefined leaves it. */
  shares?: number[] | null;
}

export const ACCOUNT_NOT_VISIBLE = 'unauthorized to access that account';
export const ACCOUNT_NOT_USABLE = 'unauthorized to use that account';

/** A relay's ffmpeg arguments as stored: trimmed text, or null for none. */
export function checkedFfmpegArgs(value: string | null | undefined): string | null {
  if (value === undefined || value === null || value.trim() === '') return null;
  try {
    parseFfmpegArgs(value);
  } catch (err) {
    if (err instanceof FfmpegArgsError) throw new ValidationError(`ffmpeg_args ${err.message}`, { ffmpeg_args: err.message });
    throw err;
  }
  return value.trim();
}

/** The settings that hold an address a user gave the server to connect to (the operator's ingest servers are not theirs). */
const ADDRESS_FIELDS = ['url', 'ingest_url'] as const;

export class NetworkAccountService {
  constructor(
    private readonly ctx: CoreContext,
    private readonly servers: IngestServers,
    /** Where relays may connect; a user's RTMP address is checked when saved and at each connection. */
    private readonly egress: EgressPolicy,
  ) {}

  /** Refuses (ValidationError) settings whose RTMP address the egress policy does not allow. */
  private async checkAddresses(settings: Record<string, string>): Promise<void> {
    for (const field of ADDRESS_FIELDS) {
      const value = settings[field];
      if (value === undefined || value === '') continue;
      const refusal = await this.egress.urlRefusal(value, ['rtmp', 'rtmps']);
      if (refusal) throw new ValidationError(`${field} ${refusal}`, { [field]: refusal });
    }
  }

  async create(ownerId: AccountId, input: NewNetworkAccount): Promise<NetworkAccountView> {
    if (!isNetworkName(input.network)) throw new ValidationError(`network must be one of ${NETWORKS.join(', ')}`, { network: 'is unknown' });
    const net = network(input.network);
    const given: Record<string, unknown> = { ...input.settings };
    if (input.name !== undefined) given.name = input.name;
    const settings = checkSettings(input.network, {}, given);
    const name = settings.name!;
    const problem = nameProblem('account', name);
    if (problem) throw new ValidationError(problem, { name: problem });
    const ffmpegArgs = checkedFfmpegArgs(input.ffmpegArgs);
    await this.checkAddresses(settings);
    const slug = slugify(name);
    const now = this.ctx.now();
    let id = 0;
    await this.write(async (tx) => {
      if (await tx.networkAccounts.findBySlug(ownerId, slug)) throw new ConflictError(`Account name conflicts with "${name}"`);
      id = await tx.sequences.next('network_account');
      await tx.networkAccounts.insert({
        id,
        owner_id: ownerId,
        network: net.name,
        name,
        slug,
        settings: JSON.stringify(settings),
        ffmpeg_args: ffmpegArgs,
        created_at: now,
        updated_at: now,
      });
      for (const userId of await shareTargets(tx, ownerId, input.shares ?? [])) await tx.networkAccounts.addShare(id, userId, now);
      return [];
    }, name);
    return (await this.get(ownerId, id))!;
  }

  /** The accounts the user owns, then those shared with them. */
  async list(userId: AccountId): Promise<NetworkAccountView[]> {
    const rows = await this.ctx.store.networkAccounts.visibleTo(userId);
    return Promise.all(rows.map((row) => this.view(row, userId)));
  }

  /** An account the user owns or was shared; undefined otherwise. */
  async get(userId: AccountId, id: number): Promise<NetworkAccountView | undefined> {
    const row = await this.usableRow(this.ctx.store, userId, id);
    return row ? this.view(row, userId) : undefined;
  }

  /** Changes the account's settings, ffmpeg arguments or shares: its owner only. */
  async update(userId: AccountId, id: number, changes: NetworkAccountChanges): Promise<NetworkAccountView> {
    const current = await this.ctx.store.networkAccounts.findById(id);
    if (!current || current.owner_id !== userId) throw new NotFoundError(ACCOUNT_NOT_USABLE);
    const settings = changes.settings === undefined ? parseSettings(current.settings) : checkSettings(current.network as NetworkName, parseSettings(current.settings), changes.settings);
    const name = settings.name ?? current.name;
    const problem = nameProblem('account', name);
    if (problem) throw new ValidationError(problem, { name: problem });
    const ffmpegArgs = changes.ffmpegArgs === undefined ? current.ffmpeg_args : checkedFfmpegArgs(changes.ffmpegArgs);
    if (changes.settings !== undefined) await this.checkAddresses(settings);
    const slug = slugify(name);
    const now = this.ctx.now();
    await this.write(async (tx) => {
      const row = await tx.networkAccounts.findById(id);
      if (!row || row.owner_id !== userId) throw new NotFoundError(ACCOUNT_NOT_USABLE);
      if (slug !== row.slug) {
        const other = await tx.networkAccounts.findBySlug(userId, slug);
        if (other && other.id !== id) throw new ConflictError(`Account name conflicts with "${name}"`);
      }
      const updated: NetworkAccountRow = { ...row, name, slug, settings: JSON.stringify(settings), ffmpeg_args: ffmpegArgs, updated_at: now };
      await tx.networkAccounts.update(id, { name, slug, settings: updated.settings, ffmpeg_args: ffmpegArgs, updated_at: now });
      const events: DomainEvent[] = [];
      if (changes.shares !== undefined) {
        const wanted = new Set(await shareTargets(tx, userId, changes.shares ?? []));
        for (const sharee of await tx.networkAccounts.sharesOf(id)) {
          if (!wanted.has(sharee)) events.push(...(await this.unshare(tx, row, sharee)));
        }
        for (const sharee of wanted) await tx.networkAccounts.addShare(id, sharee, now);
      }
      if (updated.settings !== row.settings || updated.ffmpeg_args !== row.ffmpeg_args) {
        for (const attachment of await tx.streamAccounts.listByAccount(id)) events.push(await retarget(tx, attachment, updated, this.servers));
      }
      return events;
    }, name);
    return (await this.get(userId, id))!;
  }

  /** The owner deletes the account (and its relays); a sharee gives up the share (and its relays on their streams). */
  async remove(userId: AccountId, id: number): Promise<void> {
    await this.write(async (tx) => {
      const row = await this.usableRow(tx, userId, id);
      if (!row) throw new NotFoundError(ACCOUNT_NOT_USABLE);
      if (row.owner_id !== userId) return this.unshare(tx, row, userId);
      const events: DomainEvent[] = [];
      for (const attachment of await tx.streamAccounts.listByAccount(id)) events.push(await detach(tx, attachment));
      await tx.networkAccounts.delete(id);
      return events;
    });
  }

  /** The accounts attached to a stream, as webhooks and chat name them. */
  async ofStream(streamId: StreamId): Promise<{ id: number; name: string; slug: string; network: string; networkDisplayName: string; httpUrl: string | null }[]> {
    const attachments = await this.ctx.store.streamAccounts.listByStream(streamId);
    const out = [];
    for (const attachment of attachments) {
      const row = await this.ctx.store.networkAccounts.findById(Number(attachment.network_account_id));
      if (!row || !isNetworkName(row.network)) continue;
      const net = network(row.network);
      out.push({ id: Number(row.id), name: row.name, slug: row.slug, network: net.name, networkDisplayName: net.displayName, httpUrl: net.httpUrl(parseSettings(row.settings)) });
    }
    return out;
  }

  /** The account row if `userId` owns it or was shared it. */
  async usableRow(repos: Repositories, userId: AccountId, id: number): Promise<NetworkAccountRow | undefined> {
    if (!Number.isSafeInteger(id) || id < 1) return undefined;
    const row = await repos.networkAccounts.findById(id);
    if (!row) return undefined;
    if (row.owner_id === userId || (await repos.networkAccounts.isSharedWith(id, userId))) return row;
    return undefined;
  }

  /** Ends a share: the sharee's streams stop relaying to the account. */
  private async unshare(tx: Repositories, row: NetworkAccountRow, sharee: string): Promise<DomainEvent[]> {
    await tx.networkAccounts.removeShare(row.id, sharee);
    const events: DomainEvent[] = [];
    for (const attachment of await tx.streamAccounts.listByAccount(row.id)) {
      const stream = await tx.msStreams.findByStream(attachment.stream_id);
      if (stream?.owner_id === sharee) events.push(await detach(tx, attachment));
    }
    return events;
  }

  /** Runs the writes in one transaction, then emits their events. */
  private async write(work: (tx: Repositories) => Promise<DomainEvent[]>, name?: string): Promise<void> {
    let events: DomainEvent[];
    try {
      events = await this.ctx.store.transaction(work);
    } catch (err) {
      // Two requests for the same name can both pass the check; the unique index stops the second.
      if (isUniqueViolation(err) && name !== undefined) throw new ConflictError(`Account name conflicts with "${name}"`);
      throw err;
    }
    for (const event of events) await emit(this.ctx, event);
  }

  /** The account as `viewer` sees it (null: as part of a stream, without shares, as a non-owner). */
  async view(row: NetworkAccountRow, viewer: AccountId | null): Promise<NetworkAccountView> {
    const net = network(row.network as NetworkName);
    const isOwner = viewer !== null && row.owner_id === viewer;
    const shareIds = isOwner ? await this.ctx.store.networkAccounts.sharesOf(row.id) : [];
    const users = await this.ctx.store.msUsers.byAccounts([row.owner_id, ...shareIds]);
    const all = parseSettings(row.settings);
    const settings: Record<string, string> = {};
    for (const field of net.accountFields) {
      const value = all[field.key];
      if (value === undefined || field.secret) continue;
      settings[field.key] = field.keyBearing && !isOwner ? redactPublishUrl(value) : value;
    }
    const owner = users.get(row.owner_id);
    return {
      id: Number(row.id),
      owner: { accountId: row.owner_id as AccountId, id: owner?.number ?? 0, username: owner?.username ?? '' },
      network: net.name,
      name: row.name,
      slug: row.slug,
      settings,
      ffmpegArgs: row.ffmpeg_args,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      ...(isOwner
        ? { shares: shareIds.flatMap((id) => { const u = users.get(id); return u ? [{ accountId: id as AccountId, id: u.number, username: u.username }] : []; }) }
        : {}),
    };
  }
}

/** The account settings after applying `given` to `current`: every field checked, unknown keys refused. */
function checkSettings(net: NetworkName, current: Record<string, string>, given: Record<string, unknown>): Record<string, string> {
  const fields = network(net).accountFields;
  for (const key of Object.keys(given)) {
    if (!fields.some((f) => f.key === key)) throw new ValidationError(`unknown setting ${key} for a ${net} account`, { [key]: 'is unknown' });
  }
  const out: Record<string, string> = {};
  for (const field of fields) {
    const value = Object.hasOwn(given, field.key) ? given[field.key] : current[field.key];
    if (value === undefined || value === null || value === '') {
      if (field.required) throw new ValidationError(`missing required field ${field.key}`, { [field.key]: 'is required' });
      continue;
    }
    const problem = fieldValueProblem(field, value);
    if (problem) throw new ValidationError(problem, { [field.key]: problem });
    out[field.key] = (value as string).trim();
  }
  return out;
}

/** The account ids of the users with these integer ids (the owner left out); an unknown id is refused. */
async function shareTargets(tx: Repositories, ownerId: string, userIds: number[]): Promise<string[]> {
  const out: string[] = [];
  for (const userId of userIds) {
    const user = Number.isSafeInteger(userId) && userId > 0 ? await tx.msUsers.findByNumber(userId) : undefined;
    if (!user) throw new ValidationError(`user ${userId} not found`, { shares: 'names an unknown user' });
    if (user.account_id !== ownerId && !out.includes(user.account_id)) out.push(user.account_id);
  }
  return out;
}

export { shareTargets };
