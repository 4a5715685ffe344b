import type { AccountService } from '../accounts/accounts.js';
import { emit, type CoreContext } from '../kernel/context.js';
import { DEFAULT_CHAT_SETTINGS, readHistoryLimit, readInjection, readPost, type ChatSettings } from './input.js';
import type { ChatMessage, ChatStatus } from '../kernel/events.js';
import { LOCAL_NETWORK, toChatMessage } from './message.js';
import { checkChatRate, rateWindowStart } from './rate.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../kernel/errors.js';
import { isUuid, secretDigest, type AccountId, type StreamId } from '../kernel/ids.js';
import type { ChatMessageRow } from '../../store/repositories/chat.js';
import type { Repositories } from '../../store/store.js';

/** Who may do what in a stream's chat: the sharing levels of Multistreamer (0 none, 1 read, 2 read and write). */
export interface ChatAccess {
  of(accountId: AccountId, streamId: StreamId): Promise<{ owner: boolean; chatLevel: 0 | 1 | 2 } | undefined>;
}

/** The chat level an account has in a stream: the owner's is 2; undefined access is 0. */
export async function chatLevel(access: ChatAccess, accountId: AccountId, streamId: StreamId): Promise<0 | 1 | 2> {
  const found = await access.of(accountId, streamId);
  if (!found) return 0;
  return found.owner ? 2 : found.chatLevel;
}

const STATUS_TEXT: Record<ChatStatus, string> = {
  live: 'The stream is live.',
  ended: 'The stream has ended.',
};

type NewMessage = Pick<ChatMessageRow, 'kind' | 'author_id' | 'from_name' | 'network' | 'text'> &
  Partial<Pick<ChatMessageRow, 'from_picture' | 'network_icon' | 'network_icon_css' | 'markdown' | 'status' | 'chatter' | 'address_digest'>>;

/** Longest display name a guest may pick, in characters. */
export const GUEST_NAME_MAX = 32;
/** A guest's chatter id: a random string the guest's browser keeps and sends with each post. */
const CHATTER_ID = /^[A-Za-z0-9_-]{16,64}$/;
/** One address may post this many times the rate of one chatter (several people may share it). */
export const ADDRESS_RATE_FACTOR = 4;

/** A guest of the watch page: the chatter id their browser keeps, the name they picked, and where they post from. */
export interface Guest {
  chatterId: string;
  name: string;
  address: string;
}

const accountChatter = (accountId: string) => `account:${accountId}`;
const guestChatter = (chatterId: string) => `guest:${secretDigest(chatterId)}`;

/** A guest's display name: trimmed, 1 to GUEST_NAME_MAX characters, no control characters. */
export function readGuestName(value: unknown): string {
  const name = typeof value === 'string' ? value.trim() : '';
  const length = [...name].length;
  if (length < 1 || length > GUEST_NAME_MAX || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new ValidationError(`Invalid name: must be 1 to ${GUEST_NAME_MAX} characters`, { name: `must be 1 to ${GUEST_NAME_MAX} characters` });
  }
  return name;
}

/**
 * One chat per stream. Every message is stored (numbered per stream, in commit order) and then
 * published on the bus as `chat.message`, so each node's sockets deliver it.
 */
export class ChatService {
  readonly settings: ChatSettings;

  constructor(
    private readonly ctx: CoreContext,
    private readonly accounts: AccountService,
    private readonly access: ChatAccess,
    settings: Partial<ChatSettings> = {},
  ) {
    this.settings = { ...DEFAULT_CHAT_SETTINGS, ...settings };
  }

  /** The chat level of an account in a stream (0 when the stream does not exist). */
  levelOf(accountId: AccountId, streamId: StreamId): Promise<0 | 1 | 2> {
    return chatLevel(this.access, accountId, streamId);
  }

  /**
   * A message from an account with chat level 2 (the owner has it). The text is trimmed and
   * must fit the length limit; the account may post `rate.messages` per `rate.seconds` to a stream.
   */
  async post(streamId: StreamId, accountId: AccountId, input: { type: 'text' | 'emote'; text: string }): Promise<ChatMessage> {
    if ((await this.levelOf(accountId, streamId)) < 2) throw new ForbiddenError('Posting to this chat needs chat level 2');
    const { type, text } = readPost(input, this.settings.maxLength);
    const account = await this.accounts.get(accountId);
    if (!account) throw new NotFoundError('No such account');
    const { rate } = this.settings;
    const chatter = accountChatter(accountId);
    return this.store(streamId, { kind: type, author_id: accountId, from_name: account.username, network: LOCAL_NETWORK, text, chatter }, async (tx, now) => {
      if (await tx.chat.isMuted(streamId, chatter)) throw new ForbiddenError('You are muted in this chat');
      checkChatRate(rate, now, await tx.chat.recentPostTimes(streamId, accountId, rateWindowStart(rate, now), rate.messages));
    });
  }

  /**
   * A message from a guest of the watch page, under the name they picked. A muted guest is
   * refused; a guest may post at the chat's rate, and one address at ADDRESS_RATE_FACTOR times it.
   */
  async postAsGuest(streamId: StreamId, guest: Guest, input: { type: 'text' | 'emote'; text: string }): Promise<ChatMessage> {
    if (typeof guest.chatterId !== 'string' || !CHATTER_ID.test(guest.chatterId)) {
      throw new ValidationError('Invalid chatter id: must be 16 to 64 letters, digits, - or _', { chatterId: 'must be 16 to 64 letters, digits, - or _' });
    }
    const name = readGuestName(guest.name);
    const { type, text } = readPost(input, this.settings.maxLength);
    const { rate } = this.settings;
    const perAddress = { messages: rate.messages * ADDRESS_RATE_FACTOR, seconds: rate.seconds };
    const chatter = guestChatter(guest.chatterId);
    const addressDigest = secretDigest(`chat-address:${guest.address}`);
    return this.store(streamId, { kind: type, author_id: null, from_name: name, network: LOCAL_NETWORK, text, chatter, address_digest: addressDigest }, async (tx, now) => {
      if (await tx.chat.isMuted(streamId, chatter)) throw new ForbiddenError('You are muted in this chat');
      checkChatRate(rate, now, await tx.chat.recentTimesOf(streamId, { chatter }, rateWindowStart(rate, now), rate.messages));
      checkChatRate(perAddress, now, await tx.chat.recentTimesOf(streamId, { addressDigest }, rateWindowStart(perAddress, now), perAddress.messages));
    });
  }

  /** Whether an account moderates a stream's chat: its owner, or an administrator. */
  async mayModerate(accountId: AccountId, streamId: StreamId): Promise<boolean> {
    const account = await this.accounts.get(accountId);
    if (!account) return false;
    if (account.isAdmin) return isUuid(streamId) && (await this.ctx.store.streams.findById(streamId)) !== undefined;
    return (await this.access.of(accountId, streamId))?.owner === true;
  }

  /** Deletes a message (the caller checked the right to); every listener is told. */
  async remove(streamId: StreamId, messageId: number): Promise<void> {
    if (!isUuid(streamId) || !Number.isSafeInteger(messageId) || !(await this.ctx.store.chat.delete(streamId, messageId))) throw new NotFoundError('No such message');
    await emit(this.ctx, { type: 'chat.deleted', streamId, messageId });
  }

  /**
   * Mutes whoever wrote a message (the caller checked the right to): their later posts to the
   * stream's chat are refused. Status and injected messages have no chatter here; the stream's
   * owner cannot be muted in their own chat.
   */
  async muteAuthorOf(streamId: StreamId, messageId: number, ownerId: AccountId): Promise<void> {
    const row = isUuid(streamId) && Number.isSafeInteger(messageId) ? await this.ctx.store.chat.find(streamId, messageId) : undefined;
    if (!row) throw new NotFoundError('No such message');
    if (row.chatter === null) throw new ValidationError('This message has no chatter to mute', { messageId: 'has no chatter to mute' });
    if (row.chatter === accountChatter(ownerId)) throw new ValidationError('The stream’s owner cannot be muted', { messageId: 'is the owner’s' });
    await this.ctx.store.chat.mute(streamId, row.chatter, this.ctx.now());
  }

  /** A message from another chat network (Multistreamer's `POST /stream/:id/msg` body), checked field by field. */
  async inject(streamId: StreamId, body: unknown): Promise<ChatMessage> {
    const message = readInjection(body, this.settings.maxLength);
    return this.store(streamId, {
      kind: message.type,
      author_id: null,
      from_name: message.fromName,
      from_picture: message.fromPicture,
      network: message.network,
      network_icon: message.networkIcon,
      network_icon_css: message.networkIconCss,
      text: message.text,
      markdown: message.markdown,
    });
  }

  /** A line the server writes into the chat when a broadcast starts or ends. */
  async status(streamId: StreamId, status: ChatStatus): Promise<ChatMessage> {
    return this.store(streamId, { kind: 'status', author_id: null, from_name: LOCAL_NETWORK, network: LOCAL_NETWORK, text: STATUS_TEXT[status], status });
  }

  /** The stream's last `limit` messages, oldest first. */
  async history(streamId: StreamId, limit: number): Promise<ChatMessage[]> {
    readHistoryLimit(limit);
    if (!isUuid(streamId)) return [];
    const rows = await this.ctx.store.chat.latest(streamId, limit);
    return rows.map(toChatMessage);
  }

  /** Stores a message (after `check`, in the same transaction) and publishes it. */
  private async store(streamId: StreamId, message: NewMessage, check?: (tx: Repositories, now: string) => Promise<void>): Promise<ChatMessage> {
    if (!isUuid(streamId) || !(await this.ctx.store.streams.findById(streamId))) throw new NotFoundError('No such stream');
    const stored = await this.ctx.store.transaction(async (tx) => {
      // Numbering first: it locks the room, so the check below sees every earlier post.
      const id = await tx.chat.nextId(streamId);
      const now = this.ctx.now();
      await check?.(tx, now);
      const row: ChatMessageRow = {
        from_picture: null,
        network_icon: null,
        network_icon_css: null,
        markdown: null,
        status: null,
        chatter: null,
        address_digest: null,
        ...message,
        stream_id: streamId,
        id,
        created_at: now,
      };
      await tx.chat.insert(row);
      return toChatMessage(row);
    });
    await emit(this.ctx, { type: 'chat.message', streamId, message: stored });
    return stored;
  }
}
