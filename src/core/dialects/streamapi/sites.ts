import { randomBytes } from 'node:crypto';
import { checkClientName, type ApiClientRegistry } from '../../accounts/api-clients.js';
import type { EgressPolicy } from '../../egress/policy.js';
import { emit, type CoreContext } from '../../kernel/context.js';
import { NotFoundError, ValidationError } from '../../kernel/errors.js';
import { secretsEqual } from '../../kernel/ids.js';
import type { ApiClientRow } from '../../../store/repositories/accounts.js';
import type { SiteThemeRow } from '../../../store/repositories/dialects/streamapi.js';

/**
 * A site: a website whose server calls the StreamAPI dialect with an API key, signing each
 * request with the key's secret. Unlike a password, the secret must be known to the server to
 * check a signature, so it is stored as issued.
 */
export interface Site {
  id: string;
  key: string;
  name: string;
  callbackUrl: string | null;
  createdAt: string;
  revokedAt: string | null;
}

export interface SiteTheme {
  id: number;
  name: string;
  width: number;
  height: number;
  layoutPath: string;
  skinPath: string;
}

const SITE_KIND = 'site';
/** Request ids are compared as integers of up to this many digits (clients send ms or µs). */
export const REQUEST_ID_MAX_DIGITS = 40;

function toSite(row: ApiClientRow): Site {
  return { id: row.id, key: row.client_id, name: row.name, callbackUrl: row.callback_url, createdAt: row.created_at, revokedAt: row.revoked_at };
}

function checkCallbackUrl(url: string): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new ValidationError('Invalid callback URL', { callbackUrl: 'must be an http:// or https:// URL' });
  }
}

export class SiteService {
  constructor(
    private readonly ctx: CoreContext,
    private readonly clients: ApiClientRegistry,
    /** Where callbacks may go; the site's callback URL is checked when saved and at each call. */
    private readonly egress: EgressPolicy,
  ) {}

  async create(name: string, callbackUrl: string | null = null): Promise<{ site: Site; secret: string }> {
    checkClientName(name, 'site');
    if (callbackUrl !== null) {
      checkCallbackUrl(callbackUrl);
      const refusal = await this.egress.urlRefusal(callbackUrl, ['http', 'https']);
      if (refusal) throw new ValidationError('Invalid callback URL', { callbackUrl: refusal });
    }
    const secret = randomBytes(16).toString('hex');
    const row = await this.clients.create(SITE_KIND, 'site', { name, key: randomBytes(16).toString('hex'), secret: { plain: secret }, callbackUrl });
    return { site: toSite(row), secret };
  }

  async list(): Promise<Site[]> {
    return (await this.clients.list(SITE_KIND)).map(toSite);
  }

  async revoke(key: string): Promise<Site> {
    return toSite(await this.clients.revoke(SITE_KIND, key, 'No site with that key'));
  }

  /** The live site and its secret for an API key; undefined for unknown or revoked keys. */
  async credentials(key: string): Promise<{ site: Site; secret: string } | undefined> {
    const row = await this.clients.find(SITE_KIND, key);
    if (!row || row.revoked_at !== null || row.secret === null) return undefined;
    // The key was found by an index; the comparison that accepts it is constant-time.
    if (!secretsEqual(row.client_id, key)) return undefined;
    return { site: toSite(row), secret: row.secret };
  }

  async get(id: string): Promise<Site | undefined> {
    const row = await this.clients.get(SITE_KIND, id);
    return row ? toSite(row) : undefined;
  }

  /**
   * Accepts `rid` if it is a whole number greater than the site's last accepted one, compared
   * as integers of any size; a replayed or older id is refused, even when requests race.
   */
  async acceptRequestId(site: Site, rid: string): Promise<boolean> {
    const digits = rid.replace(/^0+(?=\d)/, '');
    if (!/^\d+$/.test(digits) || digits.length > REQUEST_ID_MAX_DIGITS) return false;
    return this.ctx.store.apiClients.advanceRequestId(site.id, digits.padStart(REQUEST_ID_MAX_DIGITS, '0'));
  }

  async addTheme(key: string, theme: Omit<SiteTheme, 'id'>): Promise<SiteTheme> {
    const row = await this.clients.find(SITE_KIND, key);
    if (!row) throw new NotFoundError('No site with that key');
    const errors: Record<string, string> = {};
    if (theme.name.trim() === '') errors.name = 'must not be empty';
    if (!Number.isInteger(theme.width) || theme.width < 1 || theme.width > 10000) errors.width = 'must be 1 to 10000';
    if (!Number.isInteger(theme.height) || theme.height < 1 || theme.height > 10000) errors.height = 'must be 1 to 10000';
    if (Object.keys(errors).length > 0) throw new ValidationError('Invalid theme', errors);
    const id = await this.ctx.store.transaction(async (tx) => {
      const next = await tx.sequences.next('site_theme');
      await tx.siteThemes.insert({
        id: next,
        api_client_id: row.id,
        name: theme.name,
        width: theme.width,
        height: theme.height,
        layout_path: theme.layoutPath,
        skin_path: theme.skinPath,
      });
      return next;
    });
    await emit(this.ctx, { type: 'site.theme_added', siteId: row.id, themeId: id });
    return { id, ...theme };
  }

  async themes(site: Site): Promise<SiteTheme[]> {
    return (await this.ctx.store.siteThemes.list(site.id)).map((r: SiteThemeRow) => ({
      id: Number(r.id),
      name: r.name,
      width: Number(r.width),
      height: Number(r.height),
      layoutPath: r.layout_path,
      skinPath: r.skin_path,
    }));
  }
}
