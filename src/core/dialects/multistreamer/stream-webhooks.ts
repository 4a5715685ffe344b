import type { ChatMessage } from '../../kernel/events.js';
import type { DomainEvent } from '../../kernel/events.js';
import type { StreamId } from '../../kernel/ids.js';
import { isNetworkName, network } from '../../relays/networks.js';
import type { CallbackOutbox } from '../../webhooks/outbox.js';
import type { AccessTokenService } from './access-tokens.js';
import type { MultistreamService } from './multistreams.js';
import type { NetworkAccountService } from './network-accounts.js';
import type { Webhook, WebhookEvent, WebhookService } from './webhooks.js';

/** Who and what a stream's webhook payloads name: its owner and the stream, by Multistreamer ids. */
interface Subject {
  user: { id: number; username: string };
  stream: { id: number; slug: string; name: string };
}

export const EVENT_HEADER = 'x-streamdelta-event';

function networkDisplayName(name: string): string {
  return isNetworkName(name) ? network(name).displayName : name;
}

/**
 * The payloads of Multistreamer's webhooks (models/webhook.lua), for a `raw` or a `discord`
 * hook. Discord gets a message (`content`, `username`, and `avatar_url` when the commenter has
 * a picture); raw gets the event as data.
 */
export const payloads = {
  start(type: Webhook['type'], s: Subject, accounts: Awaited<ReturnType<NetworkAccountService['ofStream']>>): unknown {
    if (type === 'discord') {
      const urls = accounts.map((a) => a.httpUrl).filter((u): u is string => !!u);
      return { content: `${s.user.username} is now streaming!${urls.length > 0 ? ` ${urls.join(' ')}` : ''}`, username: s.user.username };
    }
    return {
      hook_type: 'stream:start',
      user: s.user,
      stream: s.stream,
      accounts: accounts.map((a) => ({
        id: a.id,
        name: a.name,
        slug: a.slug,
        network: { name: a.network, displayname: a.networkDisplayName },
        http_url: a.httpUrl,
      })),
    };
  },

  end(type: Webhook['type'], s: Subject): unknown {
    if (type === 'discord') return { content: `${s.user.username} has stopped streaming`, username: s.user.username };
    return { hook_type: 'stream:end', user: s.user, stream: s.stream };
  },

  comment(type: Webhook['type'], s: Subject, message: ChatMessage, fromId: number | null): unknown {
    const displayname = networkDisplayName(message.network.name);
    if (type === 'discord') {
      return {
        content: message.text,
        username: `${message.from.name} @ ${displayname}`,
        ...(message.from.picture ? { avatar_url: message.from.picture } : {}),
      };
    }
    return {
      hook_type: 'comment:in',
      type: message.kind,
      text: message.text,
      markdown: message.markdown ?? message.text,
      from: { name: message.from.name, id: fromId, ...(message.from.picture ? { picture: message.from.picture } : {}) },
      network: { name: message.network.name, displayname, icon: message.network.icon, icon_css: message.network.iconCss },
      // Messages come from this server's chat, not from a network account.
      account: { id: null },
      stream: { id: s.stream.id },
      user: s.user,
    };
  },
};

/**
 * Queues a stream's webhooks as their events happen on this node (a local observer: each event
 * is observed once in the cluster, so each webhook is queued once): `stream:start` when the
 * relays go on, `stream:end` when they go off, `comment:in` for each text or emote chat
 * message. The outbox delivers them signed, with retries, and in order per webhook.
 */
export function streamWebhooks(core: {
  webhooks: WebhookService;
  callbacks: CallbackOutbox;
  multistreams: MultistreamService;
  networkAccounts: NetworkAccountService;
  accessTokens: AccessTokenService;
}) {
  const subjectOf = async (streamId: StreamId): Promise<Subject | undefined> => {
    const stream = await core.multistreams.describe(streamId);
    if (!stream) return undefined;
    const owner = await core.accessTokens.profile(stream.ownerId);
    if (!owner) return undefined;
    return { user: { id: owner.id, username: owner.username }, stream: { id: stream.id, slug: stream.slug, name: stream.name } };
  };

  const send = async (streamId: StreamId, event: WebhookEvent, body: (hook: Webhook, s: Subject) => Promise<unknown> | unknown) => {
    const hooks = await core.webhooks.subscribed(streamId, event);
    if (hooks.length === 0) return;
    const subject = await subjectOf(streamId);
    if (!subject) return;
    for (const hook of hooks) {
      await core.callbacks.enqueueJson(hook.url, event, await body(hook, subject), {
        orderingKey: `webhook:${hook.id}`,
        signingSecret: hook.secret,
        headers: { [EVENT_HEADER]: event },
      });
    }
  };

  return async (event: DomainEvent): Promise<void> => {
    if (event.type === 'stream.push_started') {
      const accounts = await core.networkAccounts.ofStream(event.streamId);
      await send(event.streamId, 'stream:start', (hook, s) => payloads.start(hook.type, s, accounts));
    } else if (event.type === 'stream.push_stopped') {
      await send(event.streamId, 'stream:end', (hook, s) => payloads.end(hook.type, s));
    } else if (event.type === 'chat.message' && (event.message.kind === 'text' || event.message.kind === 'emote')) {
      const message = event.message;
      const fromId = message.from.accountId ? ((await core.accessTokens.idOf(message.from.accountId)) ?? null) : null;
      await send(event.streamId, 'comment:in', (hook, s) => payloads.comment(hook.type, s, message, fromId));
    }
  };
}
