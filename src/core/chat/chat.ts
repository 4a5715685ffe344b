import type { AccountService } from '../accounts/accounts.js';
import { emit, type CoreContext } from '../kernel/context.js';
import { DEFAULT_CHAT_SETTINGS, readHistoryLimit, readInjection, readPost, type ChatSettings } from './input.js';
import type { ChatMessage, ChatStatus } from '../kernel/events.js';
import { LOCAL_NETWORK, toChatMessage } from './message.js';
import { checkChatRate, rateWindowStart } from './rate.js';
import { ForbiddenError, NotFoundError } from '../kernel/errors.js';
import { isUuid, type AccountId, type StreamId } from '../kernel/ids.js';
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
  Partial<Pick<ChatMessageRow, 'from_picture' | 'network_icon' | 'network_icon_css' | 'markdown' | 'status'>>;

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
    return this.store(streamId, { kind: type, author_id: accountId, from_name: account.username, network: LOCAL_NETWORK, text }, async (tx, now) => {
      checkChatRate(rate, now, await tx.chat.recentPostTimes(streamId, accountId, rateWindowStart(rate, now), rate.messages));
    });
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
