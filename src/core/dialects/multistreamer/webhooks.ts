import { randomBytes } from 'node:crypto';
import type { EgressPolicy } from '../../egress/policy.js';
import type { CoreContext } from '../../kernel/context.js';
import type { AccountQuotas } from '../../accounts/quotas.js';
import { NotFoundError, ValidationError, type FieldErrors } from '../../kernel/errors.js';
import { isUuid, type StreamId } from '../../kernel/ids.js';
import type { WebhookRow } from '../../../store/repositories/dialects/multistreamer.js';
import type { Repositories } from '../../../store/store.js';

/** Multistreamer's webhook kinds: `raw` posts the event as JSON, `discord` a Discord message. */
export const WEBHOOK_TYPES = ['raw', 'discord'] as const;
export type WebhookType = (typeof WEBHOOK_TYPES)[number];
export const WEBHOOK_EVENTS = ['stream:start', 'stream:end', 'comment:in'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export const WEBHOOKS_MAX_PER_STREAM = 20;
export const WEBHOOK_URL_MAX_LENGTH = 2048;
export const WEBHOOK_NOTES_MAX_LENGTH = 1000;

export interface NewWebhook {
  url: string;
  type: WebhookType;
  /** Which events the hook gets; a missing event is off. */
  events: Record<string, boolean>;
  notes: string | null;
}

export interface Webhook {
  /** The integer id clients see. */
  id: number;
  url: string;
  type: WebhookType;
  events: Record<WebhookEvent, boolean>;
  notes: string | null;
  /** The key of the deliveries' HMAC-SHA256 signature: show it to the stream's owner only. */
  secret: string;
}

function toWebhook(row: WebhookRow): Webhook {
  const stored = JSON.parse(row.events) as Record<string, boolean>;
  const events = Object.fromEntries(WEBHOOK_EVENTS.map((e) => [e, stored[e] === true])) as Record<WebhookEvent, boolean>;
  return { id: Number(row.id), url: row.url, type: row.type as WebhookType, events, notes: row.notes, secret: row.secret };
}

function newSecret(): string {
  return randomBytes(32).toString('hex');
}

/** Why `url` cannot be a webhook's address, or undefined. */
function urlProblem(url: unknown): string | undefined {
  if (typeof url !== 'string' || url.length === 0) return 'must be a non-empty string';
  if (url.length > WEBHOOK_URL_MAX_LENGTH) return `must be at most ${WEBHOOK_URL_MAX_LENGTH} characters`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be an absolute http:// or https:// URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'must be an absolute http:// or https:// URL';
  if (parsed.username || parsed.password) return 'must not carry credentials';
  return undefined;
}

/**
 * A stream's webhooks. The list is replaced as a whole (Multistreamer's `webhooks` key); a
 * hook that keeps its URL and type keeps its id and secret, so its receiver keeps verifying.
 */
export class WebhookService {
  constructor(
    private readonly ctx: CoreContext,
    /** Where deliveries may go; a hook's address is checked when it is saved and at each delivery. */
    private readonly egress: EgressPolicy,
    private readonly quotas: AccountQuotas,
  ) {}

  async list(streamId: StreamId): Promise<Webhook[]> {
    return (await this.ctx.store.webhooks.listByStream(streamId)).map(toWebhook);
  }

  /** Validates every hook first (ValidationError, nothing written), then replaces the list in one transaction. */
  async replace(streamId: StreamId, hooks: readonly NewWebhook[]): Promise<Webhook[]> {
    await this.validate(hooks);
    if (!isUuid(streamId)) throw new NotFoundError('No such stream');
    await this.ctx.store.transaction((tx) => this.replaceIn(tx, streamId, hooks));
    return this.list(streamId);
  }

  /**
   * Throws a ValidationError naming each bad field (`webhooks[1].url`), or returns. Addresses
   * the egress policy refuses (a private network, say) are refused here, at once, as well as
   * at delivery.
   */
  async validate(hooks: readonly NewWebhook[]): Promise<void> {
    const errors: FieldErrors = {};
    if (!Array.isArray(hooks)) throw new ValidationError('Invalid webhooks', { webhooks: 'must be a list' });
    if (hooks.length > WEBHOOKS_MAX_PER_STREAM) errors.webhooks = `at most ${WEBHOOKS_MAX_PER_STREAM} webhooks per stream`;
    hooks.forEach((hook, i) => {
      const at = `webhooks[${i}]`;
      if (typeof hook !== 'object' || hook === null) {
        errors[at] = 'must be an object';
        return;
      }
      const problem = urlProblem(hook.url);
      if (problem) errors[`${at}.url`] = problem;
      if (!(WEBHOOK_TYPES as readonly unknown[]).includes(hook.type)) errors[`${at}.type`] = `must be one of ${WEBHOOK_TYPES.join(', ')}`;
      if (typeof hook.events !== 'object' || hook.events === null || Array.isArray(hook.events)) {
        errors[`${at}.events`] = 'must be an object of event name to true/false';
      } else {
        for (const [name, value] of Object.entries(hook.events)) {
          if (!(WEBHOOK_EVENTS as readonly string[]).includes(name)) errors[`${at}.events`] = `unknown event "${name.slice(0, 40)}": events are ${WEBHOOK_EVENTS.join(', ')}`;
          else if (typeof value !== 'boolean') errors[`${at}.events`] = `"${name}" must be true or false`;
        }
      }
      if (hook.notes !== null && hook.notes !== undefined && typeof hook.notes !== 'string') errors[`${at}.notes`] = 'must be a string or null';
      else if (typeof hook.notes === 'string' && hook.notes.length > WEBHOOK_NOTES_MAX_LENGTH) errors[`${at}.notes`] = `must be at most ${WEBHOOK_NOTES_MAX_LENGTH} characters`;
    });
    if (Object.keys(errors).length === 0) {
      for (const [i, hook] of hooks.entries()) {
        const refusal = await this.egress.urlRefusal(hook.url, ['http', 'https']);
        if (refusal) errors[`webhooks[${i}].url`] = refusal;
      }
    }
    if (Object.keys(errors).length > 0) {
      const first = Object.entries(errors)[0]!;
      throw new ValidationError(`Invalid webhook: ${first[0]} ${first[1]}`, errors);
    }
  }

  /**
   * Replaces the list inside the caller's transaction (a stream created or updated with its
   * webhooks in one write). The hooks must have passed `validate`.
   */
  async replaceIn(tx: Repositories, streamId: StreamId, hooks: readonly NewWebhook[]): Promise<void> {
    const now = this.ctx.now();
    const stream = await tx.streams.findById(streamId);
    if (!stream) throw new NotFoundError('No such stream');
    const old = await tx.webhooks.listByStream(streamId);
    // The owner's quota, whoever edits the list (a sharee with metadata level 2 included): the
    // owner's other streams' hooks plus this list, before and after.
    await this.quotas.reserve(
      tx,
      stream.owner_id,
      'webhooks',
      async () => (await tx.webhooks.countByOwner(stream.owner_id, streamId)) + old.length,
      (held) => held - old.length + hooks.length,
    );
    const kept = new Map(old.map((row) => [`${row.type} ${row.url}`, row]));
    await tx.webhooks.deleteByStream(streamId);
    for (const [position, hook] of hooks.entries()) {
      const key = `${hook.type} ${hook.url}`;
      const previous = kept.get(key);
      kept.delete(key); // a second hook with the same address gets its own id and secret
      const events = Object.fromEntries(WEBHOOK_EVENTS.map((e) => [e, hook.events[e] === true]));
      await tx.webhooks.insert({
        id: previous ? Number(previous.id) : await tx.sequences.next('webhook'),
        stream_id: streamId,
        position,
        url: hook.url,
        type: hook.type,
        events: JSON.stringify(events),
        notes: hook.notes ?? null,
        secret: previous?.secret ?? newSecret(),
        created_at: previous?.created_at ?? now,
      });
    }
  }

  /** The stream's hooks that want `event`. */
  async subscribed(streamId: StreamId, event: WebhookEvent): Promise<Webhook[]> {
    return (await this.list(streamId)).filter((hook) => hook.events[event]);
  }
}
