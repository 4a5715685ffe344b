import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../../core/core.js';
import { hlsJsAsset, playerAsset, type Asset } from './player-assets.js';
import { renderNotFoundPage, renderWatchPage, type WatchState } from './watch-page.js';

export interface WatchOptions {
  core: Core;
  /** The server's public URL; its path is the base of the page's links (a server behind a path prefix). */
  publicUrl: string;
}

/** Only a stream id is a watch page; every other root path stays with whoever owns the root's 404. */
const STREAM_ID_PARAM = ':streamId(^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$)';

/**
 * The page uses no inline script and loads nothing from elsewhere; hls.js feeds the video from
 * blob: URLs and runs its demuxer in a blob: worker.
 */
const PAGE_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "media-src 'self' blob:",
  "worker-src 'self' blob:",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors *",
].join('; ');

/**
 * The watch page of a stream, `GET /<stream_id>` (Kickflip's `kickflip_url`): the stream's
 * title and description, whether it is live, and a player of its HLS playlist (the live one
 * while live, the recording after). Private, deleted and unknown streams give the same 404 page.
 * hls.js comes from the installed package at `/assets/hls.min.js`.
 */
export const watchPlugin: FastifyPluginAsync<WatchOptions> = async (app, { core, publicUrl }) => {
  const base = new URL(publicUrl).pathname.replace(/\/+$/, '');
  const assets = new Map<string, Asset>([
    ['hls.min.js', hlsJsAsset()],
    ['watch.js', playerAsset()],
  ]);

  const page = (reply: FastifyReply, status: number, html: string) =>
    reply
      .status(status)
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', PAGE_POLICY)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(html);

  app.get(`/${STREAM_ID_PARAM}`, async (request: FastifyRequest<{ Params: { streamId: string } }>, reply) => {
    const stream = await core.streams.findById(request.params.streamId);
    // The page carries no viewer token: only streams anyone may watch have one.
    if (!stream || !(await core.viewing.mayWatch(stream.id, undefined))) return page(reply, 404, renderNotFoundPage());
    let state: WatchState = 'waiting';
    let playlistUrl: string | null = null;
    if (stream.isLive) {
      state = 'live';
      playlistUrl = `${base}/hls/${stream.id}/index.m3u8`;
    } else if (await core.broadcasts.latest(stream.id)) {
      state = 'recorded';
      playlistUrl = `${base}/hls/${stream.id}/vod.m3u8`;
    }
    return page(reply, 200, renderWatchPage({ title: stream.title, description: stream.description, state, playlistUrl, assetsUrl: `${base}/assets` }));
  });

  for (const [name, asset] of assets) {
    app.get(`/assets/${name}`, async (request, reply) => {
      reply.header('etag', asset.etag).header('cache-control', 'public, max-age=86400').header('x-content-type-options', 'nosniff');
      if (request.headers['if-none-match'] === asset.etag) return reply.status(304).send();
      return reply.type(asset.contentType).send(asset.body);
    });
  }
};
