import { randomBytes } from 'node:crypto';
import type { AccountQuotas } from '../accounts/quotas.js';
import { inScope, ownerFilter, type AccountScope } from '../accounts/scope.js';
import type { EgressPolicy } from '../egress/policy.js';
import type { CoreContext } from '../kernel/context.js';
import { ConflictError, NotFoundError, ValidationError, type FieldErrors } from '../kernel/errors.js';
import { newId, type AccountId } from '../kernel/ids.js';
import type { WebhookEndpointRow } from '../../store/repositories/webhooks.js';
import type { Repositories } from '../../store/store.js';
import type { CallbackOutbox } from './outbox.js';

/** Where an account's live API events are POSTed, signed as Mux signs them. */
export interface WebhookEndpoint {
  id: string;
  accountId: AccountId;
  url: string;
  /** The event types it wants; null for all. */
  events: string[] | null;
  enabled: boolean;
  createdAt: string;
}

/** An endpoint just made: its signing secret is shown this once. */
export interface IssuedWebhookEndpoint extends WebhookEndpoint {
  secret: string;
}

/** One attempt at delivering an event to an endpoint. */
export interface DeliveryAttempt {
  id: string;
  /** The event's type and id (the same on every attempt). */
  eventType: string;
  eventId: string | null;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  at: string;
}

/** An event as the log hands it to deliveries: its id, type and the JSON delivered. */
export interface LoggedEvent {
  id: string;
  type: string;
  body: string;
}

export const WEBHOOK_URL_MAX_LENGTH = 2048;
export const WEBHOOK_EVENT_TYPES_MAX = 64;
const EVENT_TYPE_SHAPE = /^[a-z_]+(\.[a-z_]+)+$/;

function toEndpoint(row: WebhookEndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    accountId: row.account_id as AccountId,
    url: row.url,
    events: row.events === null ? null : (JSON.parse(row.events) as string[]),
    enabled: row.enabled === 1,
    createdAt: row.created_at,
  };
}

/**
 * The live API's webhook endpoints: an account's URLs that its events are POSTed to, through
 * the callback outbox (persisted, retried with backoff, the same event id on every attempt),
 * each attempt logged for the endpoint's delivery list.
 */
export class WebhookEndpointService {
  constructor(
    private readonly ctx: CoreContext,
    private readonly outbox: CallbackOutbox,
    /** Webhook URLs pointing at loopback or private addresses are refused unless the operator allows them. */
    private readonly egress: EgressPolicy,
    private readonly quotas: AccountQuotas,
  ) {
    outbox.resolveEndpointsWith((id) => this.current(id));
  }

  private async problems(input: { url?: string; events?: string[] | null }): Promise<FieldErrors> {
    const errors: FieldErrors = {};
    if (input.url !== undefined) {
      const refusal = input.url.length > WEBHOOK_URL_MAX_LENGTH ? `must be at most ${WEBHOOK_URL_MAX_LENGTH} characters` : await this.egress.urlRefusal(input.url, ['http', 'https']);
      if (refusal) errors.url = refusal;
    }
    if (input.events) {
      if (input.events.length > WEBHOOK_EVENT_TYPES_MAX || !input.events.every((e) => EVENT_TYPE_SHAPE.test(e))) errors.events = 'must be a list of event types such as video.live_stream.active';
    }
    return errors;
  }

  async create(scope: AccountScope, input: { url: string; events?: string[] | null }): Promise<IssuedWebhookEndpoint> {
    const errors = await this.problems(input);
    if (Object.keys(errors).length > 0) throw new ValidationError('Invalid webhook', errors);
    const row: WebhookEndpointRow = {
      id: newId<'WebhookEndpointId'>(),
      account_id: scope.accountId,
      url: input.url,
      events: input.events ? JSON.stringify(input.events) : null,
      secret: randomBytes(24).toString('base64url'),
      enabled: 1,
      created_at: this.ctx.now(),
    };
    await this.ctx.store.transaction(async (tx) => {
      await this.quotas.reserve(tx, scope.accountId, 'webhooks', () => tx.webhookEndpoints.countOwned(scope.accountId));
      if ((await tx.webhookEndpoints.list(scope.accountId)).some((e) => e.url === input.url)) {
        throw new ConflictError('A webhook with that URL exists', { url: 'is already a webhook of this account' });
      }
      await tx.webhookEndpoints.insert(row);
    });
    return { ...toEndpoint(row), secret: row.secret };
  }

  async list(scope: AccountScope): Promise<WebhookEndpoint[]> {
    return (await this.ctx.store.webhookEndpoints.list(ownerFilter(scope))).map(toEndpoint);
  }

  async get(scope: AccountScope, id: string): Promise<WebhookEndpoint> {
    return toEndpoint(await this.row(scope, id));
  }

  async update(scope: AccountScope, id: string, change: { url?: string; enabled?: boolean; events?: string[] | null }): Promise<WebhookEndpoint> {
    const errors = await this.problems(change);
    if (Object.keys(errors).length > 0) throw new ValidationError('Invalid webhook', errors);
    const row = await this.row(scope, id);
    await this.ctx.store.webhookEndpoints.update(row.id, {
      ...(change.url !== undefined ? { url: change.url } : {}),
      ...(change.enabled !== undefined ? { enabled: change.enabled ? 1 : 0 } : {}),
      ...(change.events !== undefined ? { events: change.events ? JSON.stringify(change.events) : null } : {}),
    });
    return this.get(scope, row.id);
  }

  /** Deletes an endpoint; what was still to be delivered to it is dropped. */
  async delete(scope: AccountScope, id: string): Promise<void> {
    const row = await this.row(scope, id);
    await this.ctx.store.webhookEndpoints.delete(row.id);
    await this.ctx.store.callbacks.dropPendingFor(row.id, this.ctx.now());
  }

  /** The attempts at delivering to an endpoint, newest first. */
  async deliveries(scope: AccountScope, id: string, limit: number, offset: number): Promise<DeliveryAttempt[]> {
    const row = await this.row(scope, id);
    return (await this.ctx.store.callbacks.listAttempts(row.id, limit, offset)).map((a) => ({
      id: a.id,
      eventType: a.event,
      eventId: eventIdOf(a.body),
      statusCode: a.status_code === null ? null : Number(a.status_code),
      durationMs: Number(a.duration_ms),
      error: a.error,
      at: a.at,
    }));
  }

  /** Sends the event of one attempt again (a new delivery of the same event, the same event id). */
  async redeliver(scope: AccountScope, id: string, attemptId: string): Promise<void> {
    const endpoint = await this.row(scope, id);
    const attempt = await this.ctx.store.callbacks.findAttempt(attemptId);
    const callback = attempt && attempt.endpoint_id === endpoint.id ? await this.ctx.store.callbacks.find(attempt.callback_id) : undefined;
    if (!callback) throw new NotFoundError('No such delivery');
    await this.ctx.store.transaction((tx) => this.queue(tx, endpoint, { id: eventIdOf(callback.body) ?? callback.id, type: callback.event, body: callback.body }));
    this.outbox.notify();
  }

  /**
   * Queues `event` of `accountId`, in the transaction that logs it, to every enabled endpoint
   * that wants it: the account's own, and those of administrators (who see every account's).
   * The caller notifies the outbox once the transaction has committed.
   */
  async deliverIn(tx: Repositories, accountId: string, event: LoggedEvent): Promise<void> {
    for (const endpoint of await tx.webhookEndpoints.listForDelivery(accountId)) {
      const wanted = endpoint.events === null ? null : (JSON.parse(endpoint.events) as string[]);
      if (wanted && !wanted.includes(event.type)) continue;
      await this.queue(tx, endpoint, event);
    }
  }

  /** Wakes the deliveries of what `deliverIn` queued. */
  notify(): void {
    this.outbox.notify();
  }

  /**
   * The endpoint a queued delivery goes to, as it is now: undefined when it was deleted or
   * disabled since (what was queued for it is then not sent), else its current URL and secret.
   */
  async current(endpointId: string): Promise<{ url: string; secret: string } | undefined> {
    const row = await this.ctx.store.webhookEndpoints.find(endpointId);
    return row && row.enabled === 1 ? { url: row.url, secret: row.secret } : undefined;
  }

  private async queue(tx: Repositories, endpoint: WebhookEndpointRow, event: LoggedEvent): Promise<void> {
    await this.outbox.enqueueRawIn(tx, endpoint.url, event.type, event.body, {
      orderingKey: `endpoint:${endpoint.id}`,
      signingSecret: endpoint.secret,
      signatureScheme: 'mux',
      endpointId: endpoint.id,
    });
  }

  private async row(scope: AccountScope, id: string): Promise<WebhookEndpointRow> {
    const row = id.length <= 64 ? await this.ctx.store.webhookEndpoints.find(id) : undefined;
    if (!row || !inScope(scope, row.account_id)) throw new NotFoundError('No such webhook');
    return row;
  }
}

function eventIdOf(body: string): string | null {
  try {
    const id = (JSON.parse(body) as { id?: unknown }).id;
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}
