import { randomBytes } from 'node:crypto';
import type { ApiClientRegistry } from '../../accounts/api-clients.js';
import type { CoreContext } from '../../kernel/context.js';
import { secretsEqual, secretDigest, type AccountId } from '../../kernel/ids.js';
import { slugify } from '../../kernel/slugs.js';
import type { ApiClientRow } from '../../../store/repositories/accounts.js';

/**
 * OAuth2 API clients (Kickflip "apps"): a client id and a secret, the secret shown once and
 * kept only as its sha256 digest (it is 256 random bits, so a slow hash would add nothing).
 * A client trades its credentials for access tokens (the client_credentials grant); tokens are
 * 256 random bits too, kept by digest, and die with their client.
 */
export type ApiClientId = string & { readonly __brand: 'ApiClientId' };

export interface ApiClient {
  id: ApiClientId;
  clientId: string;
  name: string;
  /** The name as it appears in upload paths and usernames (`<app>/<username>/<stream_id>/`). */
  app: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface AccessToken {
  token: string;
  expiresIn: number;
  expiresAt: string;
}

/**
 * Who presented an access token: its client and the user the token last created or logged in,
 * unless that user's password has changed since (then the token acts for nobody until it logs in
 * again: old credentials die with a password change).
 */
export interface TokenHolder {
  client: ApiClient;
  tokenDigest: string;
  boundUser: AccountId | null;
}

const OAUTH_KIND = 'oauth';
/** Presented credentials longer than this are refused before they are hashed. */
const MAX_PRESENTED_LENGTH = 256;

/** The client's name reduced to what is safe in a path segment: `My App!` is `my-app`. */
export function appSlug(name: string): string {
  return slugify(name).slice(0, 48).replace(/-+$/, '') || 'app';
}

function toClient(row: ApiClientRow): ApiClient {
  return { id: row.id as ApiClientId, clientId: row.client_id, name: row.name, app: appSlug(row.name), createdAt: row.created_at, revokedAt: row.revoked_at };
}

export class ApiClientService {
  constructor(
    private readonly ctx: CoreContext,
    private readonly clients: ApiClientRegistry,
    /** Seconds an access token lives. */
    private readonly tokenTtl: number,
  ) {}

  /** A new client; the secret is returned here and never again. */
  async create(name: string): Promise<{ client: ApiClient; secret: string }> {
    const secret = randomBytes(32).toString('base64url');
    const row = await this.clients.create(OAUTH_KIND, 'client', { name, key: randomBytes(20).toString('base64url'), secret: { digest: secretDigest(secret) } });
    return { client: toClient(row), secret };
  }

  async list(): Promise<ApiClient[]> {
    return (await this.clients.list(OAUTH_KIND)).map(toClient);
  }

  /** Revokes the client: its credentials and every token it holds stop working at once. */
  async revoke(clientId: string): Promise<ApiClient> {
    const row = await this.clients.revoke(OAUTH_KIND, clientId, 'No API client with that client id', (tx, client) => tx.oauthTokens.deleteForClient(client.id));
    return toClient(row);
  }

  /** The live client these credentials belong to, or undefined (the same for every kind of mismatch). */
  async authenticate(clientId: string, secret: string): Promise<ApiClient | undefined> {
    if (clientId.length > MAX_PRESENTED_LENGTH || secret.length > MAX_PRESENTED_LENGTH) return undefined;
    const row = await this.clients.find(OAUTH_KIND, clientId);
    // Compared in constant time whether or not the client exists.
    const matches = secretsEqual(row?.secret_hash ?? '', secretDigest(secret));
    if (!row || row.revoked_at !== null || !matches) return undefined;
    return toClient(row);
  }

  /** A new access token for the client (client_credentials grant). */
  async issueToken(client: ApiClient): Promise<AccessToken> {
    const token = randomBytes(32).toString('base64url');
    const now = this.ctx.now();
    const expiresAt = new Date(Date.parse(now) + this.tokenTtl * 1000).toISOString();
    await this.ctx.store.oauthTokens.deleteExpired(now);
    await this.ctx.store.oauthTokens.insert({ token_digest: secretDigest(token), api_client_id: client.id, account_id: null, account_version: 0, created_at: now, expires_at: expiresAt });
    return { token, expiresIn: this.tokenTtl, expiresAt };
  }

  /** Who holds this access token; undefined for an unknown, expired or revoked one. */
  async holder(token: string): Promise<TokenHolder | undefined> {
    if (token === '' || token.length > MAX_PRESENTED_LENGTH) return undefined;
    const tokenDigest = secretDigest(token);
    const row = await this.ctx.store.oauthTokens.findWithBoundVersion(tokenDigest);
    if (!row || row.expires_at <= this.ctx.now()) return undefined;
    const client = await this.clients.get(OAUTH_KIND, row.api_client_id);
    if (!client || client.revoked_at !== null) return undefined;
    const stillBound = row.account_id !== null && Number(row.bound_credential_version) === Number(row.account_version);
    return { client: toClient(client), tokenDigest, boundUser: stillBound ? (row.account_id as AccountId) : null };
  }

  async get(id: string): Promise<ApiClient | undefined> {
    const row = await this.clients.get(OAUTH_KIND, id);
    return row ? toClient(row) : undefined;
  }
}
