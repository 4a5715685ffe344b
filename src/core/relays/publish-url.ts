/**
 * Publish URLs of relay destinations: `rtmp://host[:port]/app[/more]/streamName`, or the same
 * with `rtmps://` (RTMP over TLS, which Facebook and others require).
 */
export interface PublishUrl {
  secure: boolean;
  host: string;
  port: number;
  app: string;
  /** The last path segment, with any query string (some services put their key's token there). */
  streamName: string;
  /** The URL without the stream name: what RTMP's `connect` carries as tcUrl. */
  tcUrl: string;
}

export class PublishUrlError extends Error {
  override readonly name = 'PublishUrlError';
}

export const PUBLISH_URL_MAX_LENGTH = 2048;

export function parsePublishUrl(value: string): PublishUrl {
  if (value.length > PUBLISH_URL_MAX_LENGTH) throw new PublishUrlError(`must be at most ${PUBLISH_URL_MAX_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new PublishUrlError('must be an rtmp:// or rtmps:// URL');
  }
  if (url.protocol !== 'rtmp:' && url.protocol !== 'rtmps:') throw new PublishUrlError('must be an rtmp:// or rtmps:// URL');
  if (!url.hostname) throw new PublishUrlError('must name a host');
  if (url.username || url.password) throw new PublishUrlError('must not carry credentials before the host');
  const secure = url.protocol === 'rtmps:';
  const parts = url.pathname.split('/').filter((p) => p !== '');
  if (parts.length < 2) throw new PublishUrlError('needs an application and a stream name: rtmp://host/app/name');
  const streamName = decodeURIComponent(parts.pop()!) + url.search;
  const app = parts.map((p) => decodeURIComponent(p)).join('/');
  const port = url.port ? Number(url.port) : secure ? 443 : 1935;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return { secure, host, port, app, streamName, tcUrl: `${url.protocol}//${url.host}/${parts.join('/')}` };
}

/** The URL with its stream name (a secret of the destination's owner) hidden, fit for logs. */
export function redactPublishUrl(value: string): string {
  try {
    const { tcUrl } = parsePublishUrl(value);
    return `${tcUrl}/[redacted]`;
  } catch {
    return '[invalid URL]';
  }
}
