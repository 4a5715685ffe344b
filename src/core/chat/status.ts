import type { LocalObserver } from '../kernel/context.js';
import type { ChatService } from './chat.js';

/**
 * Writes "live" and "ended" lines into a stream's chat as its broadcasts start and end. A local
 * observer, so each line is written once in the cluster (by the node where it happened).
 */
export function chatStatusObserver(chat: ChatService): LocalObserver {
  return async (event) => {
    if (event.type === 'broadcast.started') await chat.status(event.streamId, 'live');
    else if (event.type === 'broadcast.ended') await chat.status(event.streamId, 'ended');
  };
}
