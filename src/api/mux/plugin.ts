import { Ajv } from 'ajv';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Core } from '../../core/core.js';
import { BasicAuth } from './auth.js';
import { MuxError, sendMuxError, toMuxError } from './errors.js';
import { assetRoutes } from './routes/assets.js';
import { eventRoutes } from './routes/events.js';
import { liveStreamRoutes } from './routes/live-streams.js';
import { playbackIdRoutes } from './routes/playback-ids.js';
import { signingKeyRoutes } from './routes/signing-keys.js';
import { webhookRoutes } from './routes/webhooks.js';
import { unsupportedFeature } from './unsupported.js';

export interface MuxApiOptions {
  core: Core;
  /** The server's public URL: the origin a dashboard page's writes come from. */
  publicUrl: string;
  bodyLimit: number;
  /** Seconds between comments on an idle event stream, so proxies keep it open. */
  eventKeepAlive?: number;
}

/**
 * Request bodies are taken as sent (a string where a number belongs is an error, as Mux has
 * it); query strings and path parameters are text, read as the numbers their schemas name.
 */
function validators(app: FastifyInstance): void {
  const strict = new Ajv({ coerceTypes: false, allErrors: true, removeAdditional: false, useDefaults: true, strict: false });
  const coercing = new Ajv({ coerceTypes: true, allErrors: true, removeAdditional: false, useDefaults: true, strict: false });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema));
}

/** What the video and system parts share: credentials, Mux's errors, validation, the 404 and 400 of missing routes. */
async function common(app: FastifyInstance, options: MuxApiOptions, prefix: string): Promise<void> {
  const auth = new BasicAuth(options.core.liveApiTokens, options.core.sessions, options.publicUrl);
  validators(app);
  app.decorateRequest('muxGrant', undefined);
  app.addHook('onRequest', async (request) => {
    const grant = await auth.grant(request);
    if (grant.permission === 'read' && request.method !== 'GET' && request.method !== 'HEAD') {
      throw new MuxError('forbidden', ['This access token is read-only']);
    }
    request.muxGrant = grant;
  });
  app.setErrorHandler((err, request, reply) => {
    const error = toMuxError(err);
    if (error.type === 'internal_error') request.log.error({ err }, 'live API request failed');
    return sendMuxError(reply, error);
  });
  app.setNotFoundHandler(async (request, reply) => {
    // Credentials first, as for any route: a stranger learns nothing of which paths exist.
    await auth.grant(request);
    const path = request.url.split('?')[0]!;
    const feature = unsupportedFeature(request.method, path.startsWith(prefix) ? path : `${prefix}${path}`);
    return sendMuxError(reply, feature ? new MuxError('invalid_parameters', [`${feature} is not supported by this server`]) : new MuxError('not_found', ['Not found']));
  });
}

/** `/video/v1/…`: live streams, assets, playback ids (Mux Video's live API). */
export const muxVideoPlugin: FastifyPluginAsync<MuxApiOptions> = async (app, options) => {
  await common(app, options, '/video/v1');
  liveStreamRoutes(app, options.core);
  assetRoutes(app, options.core);
  playbackIdRoutes(app, options.core);
};

/** `/system/v1/…`: signing keys, webhooks and the event stream. */
export const muxSystemPlugin: FastifyPluginAsync<MuxApiOptions> = async (app, options) => {
  await common(app, options, '/system/v1');
  signingKeyRoutes(app, options.core);
  webhookRoutes(app, options.core);
  eventRoutes(app, options.core, { keepAliveSeconds: options.eventKeepAlive ?? 25 });
};
