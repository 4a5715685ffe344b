import type { ChatMessage, ChatMessageKind, ChatStatus } from '../kernel/events.js';
import type { AccountId, StreamId } from '../kernel/ids.js';
import type { ChatMessageRow } from '../../store/repositories/chat.js';

/** The network of messages posted here, as opposed to those injected from other chat networks. */
export const LOCAL_NETWORK = 'streamdelta';

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
