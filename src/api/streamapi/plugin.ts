import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../../core/core.js';
import { ForbiddenError, NotFoundError, ValidationError, ConflictError } from '../../core/kernel/errors.js';
import { QuotaExceededError } from '../../core/accounts/quotas.js';
import type { SiteSession } from '../../core/dialects/streamapi/site-sessions.js';
import type { Site } from '../../core/dialects/streamapi/sites.js';
import type { MediaPlane } from '../../media/media-plane.js';
import { signatureValid } from './signature.js';
import { fields, xmlResponse, type XmlElement } from './xml.js';

export interface StreamApiOptions {
  core: Core;
  media: MediaPlane;
  publicUrl: string;
  bodyLimit: number;
}

/** The document's status codes. */
export const StreamApiCode = {
  Ok: 0,
  MissingParameter: 1,
  NoUser: 8,
  NoSession: 46,
  Unknown: 100,
  InvalidKey: 200,
  NotCreatedByCaller: 201,
  InvalidSig: 202,
  InvalidRid: 203,
} as const;

const MESSAGES: Record<number, string> = {
  1: 'Missing required parameter(s)',
  8: 'No user found',
  46: 'No session found',
  100: 'Unknown Error',
  200: 'Invalid API key',
  201: 'Cannot request this call for user that was not created by API caller',
  202: 'Invalid sig (or signature) value',
  203: 'Invalid request ID value',
};

/** A refusal in StreamAPI's style: HTTP 200 with a non-zero `<code>` and a `<msg>`. */
export class StreamApiError extends Error {
  override readonly name = 'StreamApiError';
  constructor(
    readonly code: number,
    message: string = MESSAGES[code] ?? 'Unknown Error',
  ) {
    super(message);
  }
}

type Params = Record<string, string>;

/** Query string and form body as one set of parameters; a name given twice is refused. */
function collectParams(request: FastifyRequest): Params {
  const out: Params = {};
  for (const source of [request.query, request.body]) {
    if (source === null || typeof source !== 'object') continue;
    for (const [name, value] of Object.entries(source as Record<string, unknown>)) {
      if (typeof value !== 'string' || name in out) throw new StreamApiError(StreamApiCode.Unknown, `Parameter ${name} is given more than once`);
      out[name] = value;
    }
  }
  return out;
}

/** StreamAPI clients spell host ids `public_hostid`; one gem wrote `public_host_id`. Both are read. */
function param(params: Params, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = params[name];
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

function required(params: Params, ...names: string[]): string {
  const value = param(params, ...names);
  if (value === undefined) throw new StreamApiError(StreamApiCode.MissingParameter, `Missing required parameter(s): ${names[0]}`);
  return value;
}

function millis(iso: string): number {
  return Date.parse(iso);
}

/** A millisecond date parameter as ISO-8601, for comparing with stored times. */
function dateParam(params: Params, name: string): string | undefined {
  const value = param(params, name);
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value)) throw new StreamApiError(StreamApiCode.Unknown, `${name} must be a date in milliseconds`);
  return new Date(Number(value)).toISOString();
}

function booleanParam(params: Params, name: string): boolean | undefined {
  const value = param(params, name);
  if (value === undefined) return undefined;
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new StreamApiError(StreamApiCode.Unknown, `${name} must be true or false`);
}

/** Domain failures as StreamAPI codes; `notFound` is the code the call's document gives. */
function fromDomain(err: unknown, notFound: number): never {
  if (err instanceof NotFoundError) throw new StreamApiError(notFound);
  if (err instanceof ForbiddenError) throw new StreamApiError(StreamApiCode.NotCreatedByCaller);
  if (err instanceof QuotaExceededError) throw new StreamApiError(StreamApiCode.Unknown, err.message);
  if (err instanceof ValidationError || err instanceof ConflictError) {
    const detail = Object.entries(err.fields).map(([f, p]) => `${f} ${p}`).join('; ');
    throw new StreamApiError(StreamApiCode.Unknown, detail ? `${err.message}: ${detail}` : err.message);
  }
  throw err;
}

/**
 * StreamAPI's HTTP API at `/service`: signed server-to-server calls with XML replies. Every
 * call carries `key`, `sig` and `rid`; the signature is checked before the request id, so a
 * forged request cannot spend a site's request ids.
 */
export const streamApiPlugin: FastifyPluginAsync<StreamApiOptions> = async (app, { core, media, publicUrl, bodyLimit }) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/x-www-form-urlencoded', 'text/plain'], { parseAs: 'string', bodyLimit }, (_req, text, done) => {
    const body: Record<string, string | string[]> = {};
    for (const [name, value] of new URLSearchParams(String(text))) {
      const known = body[name];
      body[name] = known === undefined ? value : [...[known].flat(), value];
    }
    done(null, body);
  });
  // Some clients POST with no body or an unusual type; their parameters are in the query string.
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit }, (_req, _text, done) => done(null, undefined));

  const send = (reply: FastifyReply, code: number, children: XmlElement[] = []) =>
    reply.status(200).type('text/xml; charset=utf-8').send(xmlResponse(code, children));

  app.setErrorHandler((err, request, reply) => {
    if (err instanceof StreamApiError) return send(reply, err.code, [{ name: 'msg', content: err.message }]);
    const status = (err as { statusCode?: number }).statusCode;
    if (status === 413) return send(reply, StreamApiCode.Unknown, [{ name: 'msg', content: 'Request body is too large' }]);
    if (status !== undefined && status < 500) return send(reply, StreamApiCode.Unknown, [{ name: 'msg', content: 'Malformed request' }]);
    request.log.error({ err }, 'streamapi request failed');
    return send(reply, StreamApiCode.Unknown, [{ name: 'msg', content: MESSAGES[100]! }]);
  });

  app.setNotFoundHandler((_request, reply) =>
    reply.status(404).type('text/xml; charset=utf-8').send(xmlResponse(StreamApiCode.Unknown, [{ name: 'msg', content: 'Unknown API call' }])),
  );

  /** The calling site, from `key`, `sig` and `rid`, in the order the codes are documented. */
  async function authorize(request: FastifyRequest): Promise<{ site: Site; params: Params }> {
    const params = collectParams(request);
    const key = params.key;
    const sig = params.sig;
    const rid = params.rid;
    if (!key || !sig || !rid) throw new StreamApiError(StreamApiCode.MissingParameter);
    const credentials = await core.sites.credentials(key);
    if (!credentials) throw new StreamApiError(StreamApiCode.InvalidKey);
    if (!signatureValid(params, credentials.secret, rid, sig)) throw new StreamApiError(StreamApiCode.InvalidSig);
    if (!(await core.sites.acceptRequestId(credentials.site, rid))) throw new StreamApiError(StreamApiCode.InvalidRid);
    return { site: credentials.site, params };
  }

  const hostIds = (session: SiteSession) => fields({ public_hostid: session.publicHostId, private_hostid: session.privateHostId });

  const call = (path: string, handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>) => {
    app.route({ method: ['GET', 'POST'], url: path, handler });
  };

  call('/session/create', async (request, reply) => {
    const { site, params } = await authorize(request);
    const session = await core.siteSessions
      .create(site, {
        siteUserId: param(params, 'site_user_id'),
        username: param(params, 'username'),
        fmeKey: param(params, 'fme_key'),
        isPrivate: booleanParam(params, 'is_video_private'),
      })
      .catch((err) => fromDomain(err, StreamApiCode.NoUser));
    return send(reply, StreamApiCode.Ok, fields({ private_hostid: session.privateHostId, public_hostid: session.publicHostId }));
  });

  call('/session/live', async (request, reply) => {
    const { site, params } = await authorize(request);
    const publicHostId = required(params, 'public_hostid', 'public_host_id');
    const session = await core.siteSessions.byPublicHostId(site, publicHostId).catch((err) => fromDomain(err, StreamApiCode.NoUser));
    const open = await core.siteSessions.liveBroadcast(session);
    const now = Date.parse(core.ctx.now());
    return send(reply, StreamApiCode.Ok, [
      ...fields({
        is_live: open !== undefined,
        public_hostid: session.publicHostId,
        private_hostid: session.privateHostId,
        username: session.username,
        start_time: open ? millis(open.started_at) : '',
        duration: open ? Math.round((now - millis(open.started_at)) / 1000) : 0,
        channel_id: open?.id ?? '',
      }),
      // An extension old clients ignore: where viewers play the session.
      { name: 'hls_url', content: `${publicUrl}/hls/${session.streamId}/index.m3u8` },
    ]);
  });

  call('/session/live/list', async (request, reply) => {
    const { site } = await authorize(request);
    const live = await core.siteSessions.live(site);
    const sessions: XmlElement[] = live.map((s) => {
      const viewers = media.viewerStats(s.streamId);
      return {
        name: 'session',
        content: fields({
          private_hostid: s.privateHostId,
          public_hostid: s.publicHostId,
          username: s.username,
          start_time: millis(s.startedAt),
          duration: Math.round(s.duration),
          channel_id: s.broadcastId,
          total_viewers: viewers.total,
          total_chatters: 0,
          max_viewers: viewers.max,
          max_chatters: 0,
          current_viewers: viewers.current,
          current_chatters: 0,
        }),
      };
    });
    return send(reply, StreamApiCode.Ok, [{ name: 'live_sessions', content: sessions }]);
  });

  call('/host/id/public', async (request, reply) => {
    const { site, params } = await authorize(request);
    const privateHostId = required(params, 'private_hostid', 'private_host_id');
    const session = await core.siteSessions.byPrivateHostId(site, privateHostId).catch((err) => fromDomain(err, StreamApiCode.NoSession));
    return send(reply, StreamApiCode.Ok, hostIds(session));
  });

  call('/host/id/private', async (request, reply) => {
    const { site, params } = await authorize(request);
    const publicHostId = required(params, 'public_hostid', 'public_host_id');
    const session = await core.siteSessions.byPublicHostId(site, publicHostId).catch((err) => fromDomain(err, StreamApiCode.NoSession));
    return send(reply, StreamApiCode.Ok, hostIds(session));
  });

  call('/video/list', async (request, reply) => {
    const { site, params } = await authorize(request);
    const publicHostId = param(params, 'public_hostid', 'public_host_id');
    if (publicHostId !== undefined) await core.siteSessions.byPublicHostId(site, publicHostId).catch((err) => fromDomain(err, StreamApiCode.NoUser));
    const from = dateParam(params, 'start_date');
    const to = dateParam(params, 'end_date');
    const recordings = await core.siteSessions.recordings(site, {
      ...(publicHostId !== undefined ? { publicHostId } : {}),
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
    });
    const videos: XmlElement[] = recordings.map((r) => {
      const url = `${publicUrl}/hls/${r.streamId}/${r.broadcastId}/vod.m3u8`;
      return {
        name: 'video',
        attributes: { id: r.broadcastId },
        content: fields({
          public_hostid: r.session.publicHostId,
          duration: Math.round(r.duration),
          channel_id: r.broadcastId,
          creation_date: millis(r.startedAt),
          filename: `${r.broadcastId}/vod.m3u8`,
          size: r.bytes,
          url,
          embed_code: `<video src="${url}" controls playsinline></video>`,
        }),
      };
    });
    return send(reply, StreamApiCode.Ok, [{ name: 'videos', content: videos }]);
  });

  call('/theme/list', async (request, reply) => {
    const { site } = await authorize(request);
    const themes = await core.sites.themes(site);
    return send(reply, StreamApiCode.Ok, [
      {
        name: 'themes',
        content: themes.map((t) => ({
          name: 'theme',
          attributes: { id: String(t.id) },
          content: fields({ name: t.name, width: t.width, height: t.height, layout_path: t.layoutPath, skin_path: t.skinPath }),
        })),
      },
    ]);
  });
};
