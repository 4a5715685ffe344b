import type { AccountId, StreamId } from '../kernel/ids.js';
import type { ChatMessageRow } from '../../store/chat-repository.js';

/** What a chat message is: words, an action ("/me waves"), or a line the server writes itself. */
export type ChatMessageKind = 'text' | 'emote' | 'status';

/** What a status message reports. */
export type ChatStatus = 'live' | 'ended';

/** The network of messages posted here, as opposed to those injected from other chat networks. */
export const LOCAL_NETWORK = 'streamdelta';

/** A stored chat message, as the bus carries it (plain JSON, no secrets). */
export interface ChatMessage {
  streamId: StreamId;
  /** Numbered per stream from 1 in the order the messages were stored. */
  id: number;
  kind: ChatMessageKind;
  from: {
    name: string;
    /** The account that posted it; null for injected and status messages. */
    accountId: AccountId | null;
    picture: string | null;
  };
  network: { name: string; icon: string | null; iconCss: string | null };
  text: string;
  markdown: string | null;
  /** Set on status messages only. */
  status: ChatStatus | null;
  /** When it was stored, ISO-8601 UTC. */
  at: string;
}

export function toChatMessage(row: ChatMessageRow): ChatMessage {
  return {
    streamId: row.stream_id as StreamId,
    id: Number(row.id),
    kind: row.kind as ChatMessageKind,
    from: { name: row.from_name, accountId: row.author_id as AccountId | null, picture: row.from_picture },
    network: { name: row.network, icon: row.network_icon, iconCss: row.network_icon_css },
    text: row.text,
    markdown: row.markdown,
    status: row.status as ChatStatus | null,
    at: row.created_at,
  };
}
