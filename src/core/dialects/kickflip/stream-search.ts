import type { ApiClient } from './oauth-clients.js';
import type { CoreContext } from '../../kernel/context.js';
import { ValidationError, type FieldErrors } from '../../kernel/errors.js';
import { checkLocation, toTenantStream, type Location, type TenantStream } from './tenant-streams.js';
import type { StreamSearchFilter, StreamWithOwnerRow } from '../../../store/repositories/dialects/kickflip.js';

/**
 * Search over an API client's streams (Kickflip's search, search/user, search/location). Only
 * public, undeleted streams of the client are ever found, whoever asks. Pages count from 1.
 */
export interface Paging {
  page: number;
  perPage: number;
}

export interface SearchPage extends Paging {
  streams: TenantStream[];
  total: number;
  hasNextPage: boolean;
}

export const DEFAULT_PER_PAGE = 25;
/** A larger page size is served as this many: one request never reads the whole table. */
export const MAX_PER_PAGE = 100;
/** Kickflip's radius is in degrees; without one, streams this near are found. */
export const DEFAULT_RADIUS_DEGREES = 10;
const KEYWORD_MAX = 256;

/** Checks page numbers (whole, from 1) and page sizes (whole, from 1; capped at MAX_PER_PAGE). */
export function paging(page: number | undefined, perPage: number | undefined): Paging {
  const errors: FieldErrors = {};
  if (page !== undefined && (!Number.isSafeInteger(page) || page < 1)) errors.page = 'must be a whole number from 1 (pages count from 1)';
  if (perPage !== undefined && (!Number.isSafeInteger(perPage) || perPage < 1)) errors.results_per_page = 'must be a whole number from 1';
  if (Object.keys(errors).length > 0) throw new ValidationError('Invalid page', errors);
  return { page: page ?? 1, perPage: Math.min(perPage ?? DEFAULT_PER_PAGE, MAX_PER_PAGE) };
}

/** Distance in degrees on the lat/lon plane, the way round the date line that is shorter. */
function degreesBetween(a: Location, b: Location): number {
  const dLat = a.latitude - b.latitude;
  let dLon = Math.abs(a.longitude - b.longitude) % 360;
  if (dLon > 180) dLon = 360 - dLon;
  return Math.sqrt(dLat * dLat + dLon * dLon);
}

export class StreamSearchService {
  constructor(private readonly ctx: CoreContext) {}

  async search(client: ApiClient, keyword: string | undefined, page: Paging): Promise<SearchPage> {
    if (keyword !== undefined && keyword.length > KEYWORD_MAX) throw new ValidationError('Invalid keyword', { keyword: `must be at most ${KEYWORD_MAX} characters` });
    return this.run({ tenant: client.id, ...(keyword !== undefined ? { keyword } : {}) }, page);
  }

  /** The public streams of the client's user `username`; none for a name nobody has. */
  async byUser(client: ApiClient, username: string, page: Paging): Promise<SearchPage> {
    const owner = await this.ctx.store.accounts.findByUsername(client.id, username);
    if (!owner) return { ...page, streams: [], total: 0, hasNextPage: false };
    return this.run({ tenant: client.id, ownerId: owner.id }, page);
  }

  /** Public streams within `radius` degrees of `center`, nearest first. */
  async near(client: ApiClient, center: Location, radius: number | undefined, page: Paging): Promise<SearchPage> {
    const errors: FieldErrors = {};
    checkLocation(center, errors, { lat: 'lat', lon: 'lon' });
    if (radius !== undefined && (!Number.isFinite(radius) || radius < 0 || radius > 360)) errors.radius = 'must be a number of degrees from 0 to 360';
    if (Object.keys(errors).length > 0) throw new ValidationError('Invalid location', errors);
    const r = radius ?? DEFAULT_RADIUS_DEGREES;
    const rows = await this.ctx.store.streamMetadata.all({ tenant: client.id, latitude: { min: center.latitude - r, max: center.latitude + r } });
    const found = rows
      .map((row) => ({ row, distance: degreesBetween(center, { latitude: Number(row.latitude), longitude: Number(row.longitude) }) }))
      .filter((f) => f.distance <= r)
      .sort((a, b) => a.distance - b.distance);
    const start = (page.page - 1) * page.perPage;
    const slice = found.slice(start, start + page.perPage).map((f) => f.row);
    return { ...page, streams: await this.withLive(slice), total: found.length, hasNextPage: start + page.perPage < found.length };
  }

  private async run(filter: StreamSearchFilter, page: Paging): Promise<SearchPage> {
    const total = await this.ctx.store.streamMetadata.count(filter);
    const offset = (page.page - 1) * page.perPage;
    const rows = offset < total ? await this.ctx.store.streamMetadata.page(filter, offset, page.perPage) : [];
    return { ...page, streams: await this.withLive(rows), total, hasNextPage: offset + page.perPage < total };
  }

  private async withLive(rows: StreamWithOwnerRow[]): Promise<TenantStream[]> {
    const live = await this.ctx.store.broadcasts.liveStreamIds(rows.map((r) => r.id));
    return rows.map((row) => toTenantStream(row, live.has(row.id)));
  }
}
