import type { CoreContext } from '../kernel/context.js';
import { NotFoundError, ValidationError } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import type { Repositories } from '../../store/store.js';
import type { ApiClientRow } from '../../store/repositories/accounts.js';

/**
 * Which API a client calls: Kickflip's OAuth2 clients (`oauth`) or StreamAPI's sites (`site`).
 * The kind never changes, and a key of one kind is unknown to the other.
 */
export type ApiClientKind = 'oauth' | 'site';

/** How a client's secret is kept: by digest when it is only checked, as issued when the server must know it (to check a signature). */
export type StoredSecret = { digest: string } | { plain: string };

export const CLIENT_NAME_MAX = 128;

/** Refuses a client name that is blank or longer than 128 characters; `label` names the kind in the refusal. */
export function checkClientName(name: string, label: string): void {
  if (name.trim() === '' || [...name].length > CLIENT_NAME_MAX) {
    throw new ValidationError(`Invalid ${label}`, { name: `must be 1 to ${CLIENT_NAME_MAX} characters` });
  }
}

/**
 * API clients: tenant applications that call an API with a key and a secret of their own. Every
 * kind lives in one table and shares the same life: made with a name, listed, revoked once
 * (the first revocation time stays), found by key. What a kind does with its client (OAuth2
 * tokens, request signatures) is the kind's own service's.
 */
export class ApiClientRegistry {
  constructor(private readonly ctx: CoreContext) {}

  /** A new client of `kind` named `name` (1 to 128 characters); `label` names the kind in a refusal. */
  async create(kind: ApiClientKind, label: string, client: { name: string; key: string; secret: StoredSecret; callbackUrl?: string | null }): Promise<ApiClientRow> {
    checkClientName(client.name, label);
    const row: ApiClientRow = {
      id: newId(),
      kind,
      name: client.name,
      client_id: client.key,
      secret_hash: 'digest' in client.secret ? client.secret.digest : '',
      secret: 'plain' in client.secret ? client.secret.plain : null,
      callback_url: client.callbackUrl ?? null,
      last_rid: null,
      created_at: this.ctx.now(),
      revoked_at: null,
    };
    await this.ctx.store.apiClients.insert(row);
    return row;
  }

  list(kind: ApiClientKind): Promise<ApiClientRow[]> {
    return this.ctx.store.apiClients.list(kind);
  }

  /**
   * Revokes the client with this key: its credentials stop working at once. `alsoRevoke` runs in
   * the same transaction (what the client holds dies with it). NotFoundError(`notFound`) when
   * there is no client of this kind with that key.
   */
  async revoke(
    kind: ApiClientKind,
    key: string,
    notFound: string,
    alsoRevoke?: (tx: Repositories, row: ApiClientRow) => Promise<void>,
  ): Promise<ApiClientRow> {
    const row = await this.find(kind, key);
    if (!row) throw new NotFoundError(notFound);
    // One timestamp: the one stored is the one reported.
    const now = this.ctx.now();
    await this.ctx.store.transaction(async (tx) => {
      await tx.apiClients.revoke(row.id, now);
      await alsoRevoke?.(tx, row);
    });
    return { ...row, revoked_at: row.revoked_at ?? now };
  }

  /** The client of this kind with this key, revoked or not. */
  async find(kind: ApiClientKind, key: string): Promise<ApiClientRow | undefined> {
    const row = await this.ctx.store.apiClients.findByClientId(key);
    return row && row.kind === kind ? row : undefined;
  }

  /** The client of this kind with this id, revoked or not. */
  async get(kind: ApiClientKind, id: string): Promise<ApiClientRow | undefined> {
    const row = await this.ctx.store.apiClients.findById(id);
    return row && row.kind === kind ? row : undefined;
  }
}
