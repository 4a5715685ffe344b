import type { CoreContext } from '../kernel/context.js';
import { isUuid, type AccountId, type StreamId } from '../kernel/ids.js';

/**
 * Who may do what with a stream shared to them: a chat level and a metadata level, each
 * 0 (none), 1 (read) or 2 (read and write). The owner has both at 2 and alone manages shares
 * and deletes. This module is the one place the levels' meaning lives:
 * - metadata 0: only the stream's name, slug, owner and whether it is live;
 * - metadata 1: also its title, description, accounts, preview and pull settings;
 * - metadata 2: also its key and webhooks, and it may edit all of those and go live;
 * - chat 1 reads the chat, chat 2 also posts (and injects messages);
 * - both 0: no access at all.
 */
export type Level = 0 | 1 | 2;

export interface StreamAccess {
  owner: boolean;
  chatLevel: Level;
  metadataLevel: Level;
}

export const OWNER_ACCESS: StreamAccess = { owner: true, chatLevel: 2, metadataLevel: 2 };

export function isLevel(value: unknown): value is Level {
  return value === 0 || value === 1 || value === 2;
}

export const streamRules = {
  /** The stream shows up at all. */
  visible: (a: StreamAccess) => a.owner || a.chatLevel > 0 || a.metadataLevel > 0,
  readMetadata: (a: StreamAccess) => a.metadataLevel >= 1,
  /** Edit metadata, accounts, webhooks; go live; see the key and the webhooks. */
  editMetadata: (a: StreamAccess) => a.metadataLevel >= 2,
  /** Share, unshare, delete. */
  manage: (a: StreamAccess) => a.owner,
  readChat: (a: StreamAccess) => a.chatLevel >= 1,
  postChat: (a: StreamAccess) => a.chatLevel >= 2,
} as const;

export class StreamAccessService {
  constructor(private readonly ctx: CoreContext) {}

  /** What `accountId` may do with the stream; undefined when it may do nothing (or the stream does not exist). */
  async of(accountId: AccountId, streamId: StreamId): Promise<StreamAccess | undefined> {
    if (!isUuid(streamId)) return undefined;
    const stream = await this.ctx.store.streams.findById(streamId.toLowerCase());
    if (!stream) return undefined;
    if (stream.owner_id === accountId) return OWNER_ACCESS;
    return shareAccess(await this.ctx.store.streamShares.find(stream.id, accountId));
  }
}

/** What a share (of a stream the user does not own) allows; undefined when nothing. */
export function shareAccess(share: { chat_level: number; metadata_level: number } | undefined): StreamAccess | undefined {
  if (!share) return undefined;
  const access: StreamAccess = {
    owner: false,
    chatLevel: clampLevel(share.chat_level),
    metadataLevel: clampLevel(share.metadata_level),
  };
  return streamRules.visible(access) ? access : undefined;
}

function clampLevel(value: number): Level {
  const n = Number(value);
  return n >= 2 ? 2 : n >= 1 ? 1 : 0;
}
