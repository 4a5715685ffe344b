import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TokenHolder } from '../../core/dialects/kickflip/oauth-clients.js';
import type { Core } from '../../core/core.js';
import { ValidationError } from '../../core/kernel/errors.js';
import { paging } from '../../core/dialects/kickflip/stream-search.js';
import type { Location, StreamMetadata } from '../../core/dialects/kickflip/tenant-streams.js';
import type { TenantUser } from '../../core/dialects/kickflip/tenant-users.js';
import { boolean, integer, jsonText, location, number, text, type Fields } from './fields.js';
import { hlsStreamAnswer, ownUserJson, publicUserJson, streamAnswer, streamListAnswer, type Json, type Urls } from './present.js';

/** What a handler gets: the fields of the body, and who holds the access token. */
export interface Call {
  fields: Fields;
  holder: TokenHolder;
  request: FastifyRequest;
}

export type Endpoint = (call: Call) => Promise<Json>;

function required(fields: Fields, name: string): string {
  const value = text(fields, name);
  if (value === undefined) throw new ValidationError(`${name} is required`, { [name]: 'is required' });
  return value;
}

/**
 * A location, unless it is exactly 0,0: iOS posts its model's unset coordinates as zeros, and
 * a real stream from that point in the Gulf of Guinea is far less likely than a wiped location.
 */
function placed(where: Location | undefined): Location | undefined {
  return where && (where.latitude !== 0 || where.longitude !== 0) ? where : undefined;
}

/** The fields of stream/start and stream/change (form or JSON, `lat`/`lon` or `start_lat`/`start_lon`). */
function metadata(fields: Fields): StreamMetadata {
  return {
    title: text(fields, 'title'),
    description: text(fields, 'description'),
    extraInfo: jsonText(fields, 'extra_info'),
    city: text(fields, 'city'),
    state: text(fields, 'state'),
    country: text(fields, 'country'),
    thumbnailUrl: text(fields, 'thumbnail_url'),
    isPrivate: boolean(fields, 'private'),
    deleted: boolean(fields, 'deleted'),
    location: placed(location(fields, 'lat', 'lon') ?? location(fields, 'start_lat', 'start_lon')),
    endLocation: placed(location(fields, 'end_lat', 'end_lon')),
  };
}

/** Every endpoint of the Kickflip API 1.2, by path under `/api/1.2`. */
export function endpoints(core: Core, urls: Urls): Record<string, Endpoint> {
  const claim = ({ fields, request }: Call) => ({ uuid: text(fields, 'uuid'), username: text(fields, 'username'), password: text(fields, 'password'), address: request.ip });
  /** The user the call acts as; the token remembers it for calls that name none (Android's user/change). */
  const actingUser = (call: Call): Promise<TenantUser> => core.tenantUsers.identify(call.holder, claim(call));
  /** The viewer of a public read: the named user if any is named, else anonymous. */
  const viewer = (call: Call): Promise<TenantUser | undefined> => core.tenantUsers.viewer(call.holder, claim(call));
  const streamId = (fields: Fields) => required(fields, 'stream_id');
  const page = (fields: Fields) => paging(integer(fields, 'page'), integer(fields, 'results_per_page'));

  return {
    '/user/new': async ({ fields, holder }) => {
      const user = await core.tenantUsers.create(holder, {
        username: text(fields, 'username'),
        password: text(fields, 'password'),
        email: text(fields, 'email'),
        displayName: text(fields, 'display_name'),
        extraInfo: jsonText(fields, 'extra_info'),
      });
      return ownUserJson(holder.client, user);
    },

    '/user/change': async (call) => {
      const { fields, holder } = call;
      // Read every field before anything changes: a bad one changes nothing.
      const changes = { email: text(fields, 'email'), displayName: text(fields, 'display_name'), extraInfo: jsonText(fields, 'extra_info'), newPassword: text(fields, 'new_password') };
      const user = await actingUser(call);
      return ownUserJson(holder.client, await core.tenantUsers.change(holder, user, changes));
    },

    '/user/info': async ({ fields, holder }) => {
      const username = required(fields, 'username');
      const user = await core.tenantUsers.byUsername(holder.client, username);
      if (!user) throw new ValidationError(`No user named ${username}`);
      return publicUserJson(holder.client, user);
    },

    '/user/uuid': async ({ fields, holder, request }) => {
      const user = await core.tenantUsers.loginFromDevice(holder, required(fields, 'username'), required(fields, 'password'), request.ip);
      return ownUserJson(holder.client, user);
    },

    '/stream/start': async (call) => {
      const input = metadata(call.fields);
      const user = await actingUser(call);
      const { stream, grant } = await core.tenantStreams.start(call.holder.client, user, input);
      return hlsStreamAnswer(urls, stream, grant);
    },

    '/stream/pause': async (call) => {
      const [id, where] = [streamId(call.fields), placed(location(call.fields, 'lat', 'lon'))];
      return streamAnswer(urls, await core.tenantStreams.move(call.holder.client, await actingUser(call), id, where));
    },

    '/stream/resume': async (call) => {
      const [id, where] = [streamId(call.fields), placed(location(call.fields, 'lat', 'lon'))];
      return streamAnswer(urls, await core.tenantStreams.move(call.holder.client, await actingUser(call), id, where));
    },

    '/stream/stop': async (call) => {
      const [id, where] = [streamId(call.fields), placed(location(call.fields, 'lat', 'lon') ?? location(call.fields, 'end_lat', 'end_lon'))];
      return streamAnswer(urls, await core.tenantStreams.stop(call.holder.client, await actingUser(call), id, where));
    },

    '/stream/change': async (call) => {
      const [id, input] = [streamId(call.fields), metadata(call.fields)];
      return streamAnswer(urls, await core.tenantStreams.change(call.holder.client, await actingUser(call), id, input));
    },

    '/stream/info': async (call) => {
      const id = streamId(call.fields);
      return streamAnswer(urls, await core.tenantStreams.visible(call.holder.client, id, await viewer(call)));
    },

    '/stream/flag': async (call) => {
      const id = streamId(call.fields);
      const flags = await core.streamFlags.flag(call.holder.client, await actingUser(call), id);
      return { success: true, stream_id: id.toLowerCase(), flag_count: flags };
    },

    '/search': async ({ fields, holder }) => {
      const [keyword, pages] = [text(fields, 'keyword'), page(fields)];
      return streamListAnswer(urls, await core.streamSearch.search(holder.client, keyword, pages));
    },

    '/search/user': async ({ fields, holder }) => {
      const [username, pages] = [required(fields, 'username'), page(fields)];
      return streamListAnswer(urls, await core.streamSearch.byUser(holder.client, username, pages));
    },

    '/search/location': async ({ fields, holder }) => {
      const center = location(fields, 'lat', 'lon');
      if (!center) throw new ValidationError('lat and lon are required', { lat: 'is required', lon: 'is required' });
      const [radius, pages] = [number(fields, 'radius'), page(fields)];
      return streamListAnswer(urls, await core.streamSearch.near(holder.client, center, radius, pages));
    },
  };
}

export function registerEndpoints(app: FastifyInstance, table: Record<string, Endpoint>, run: (request: FastifyRequest, endpoint: Endpoint) => Promise<Json>): void {
  for (const [path, endpoint] of Object.entries(table)) {
    app.post(path, async (request) => run(request, endpoint));
  }
}

