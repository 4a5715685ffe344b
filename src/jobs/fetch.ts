import { createWriteStream } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EgressRefusedError, type EgressPolicy } from '../core/egress/policy.js';
import { PRIVATE_FILE_MODE } from '../blob/private-files.js';

/**
 * Downloads a user-supplied URL to a file, bounded in every way that matters for a server
 * fetching on someone else's behalf: only http and https; every address the host resolves to
 * must be allowed by the egress policy, checked at connect time so a DNS answer cannot change
 * between the check and the connection; a bounded number of redirects, each
 * checked again; a byte limit, enforced on Content-Length and on the bytes that arrive; and one
 * deadline for the whole download. Failures are FetchErrors with a message fit for the user.
 */
export class FetchError extends Error {
  override readonly name = 'FetchError';
}

export interface FetchLimits {
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  /** Which addresses the download (and each redirect) may reach. */
  egress: EgressPolicy;
}

export const DEFAULT_MAX_REDIRECTS = 5;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function checkUrl(url: URL, egress: EgressPolicy): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FetchError(`only http:// and https:// URLs can be fetched (got ${url.protocol})`);
  try {
    egress.connectOptions(url.hostname);
  } catch (err) {
    throw new FetchError((err as Error).message);
  }
}

/** A network failure in words. */
function describe(err: unknown, host: string): FetchError {
  if (err instanceof FetchError) return err;
  if (err instanceof EgressRefusedError) return new FetchError(err.message);
  const code = (err as { code?: string }).code ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NODATA') return new FetchError(`the host ${host} could not be resolved (${code})`);
  if (code === 'ECONNREFUSED') return new FetchError(`the host ${host} refused the connection`);
  if (code === 'ERR_STREAM_PREMATURE_CLOSE' || (code === 'ECONNRESET' && (err as Error).message === 'aborted')) {
    return new FetchError(`the connection to ${host} closed before the bundle was complete`);
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') return new FetchError(`the connection to ${host} was reset`);
  if (code === 'ETIMEDOUT' || code === 'ENETUNREACH' || code === 'EHOSTUNREACH') return new FetchError(`the host ${host} could not be reached (${code})`);
  if (/^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH|ERR_CERT)/.test(code) || /certificate|SSL|TLS/i.test((err as Error).message ?? '')) {
    return new FetchError(`the TLS connection to ${host} failed (${code || (err as Error).message})`);
  }
  return new FetchError(`the request to ${host} failed (${code || (err as Error).message})`);
}

function get(url: URL, egress: EgressPolicy, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(url, {
      method: 'GET',
      // A fresh socket per request, resolved through the guard (no pooled socket to another host).
      agent: false,
      lookup: egress.lookup,
      headers: { 'user-agent': 'streamdelta bundle fetcher', accept: '*/*', 'accept-encoding': 'identity' },
      signal,
    });
    request.on('response', resolve);
    request.on('error', reject);
    request.end();
  });
}

/** Counts the bytes that pass and fails the stream once they exceed the limit. */
class ByteLimit extends Transform {
  bytes = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) done(new FetchError(`the bundle is larger than the limit of ${this.maxBytes} bytes`));
    else done(null, chunk);
  }
}

/**
 * Downloads `url` to `path`. When `signal` aborts, rejects with its reason (so a caller can
 * tell "stopped" from "failed"); every other failure is a FetchError.
 */
export async function downloadToFile(url: string, path: string, limits: FetchLimits, signal?: AbortSignal): Promise<{ bytes: number }> {
  const controller = new AbortController();
  const seconds = Math.round(limits.timeoutMs / 1000);
  const timeout = new FetchError(`the download took longer than ${seconds} second${seconds === 1 ? '' : 's'}`);
  const timer = setTimeout(() => controller.abort(timeout), limits.timeoutMs);
  const stop = () => controller.abort(signal!.reason);
  if (signal?.aborted) stop();
  signal?.addEventListener('abort', stop, { once: true });
  const aborted = (): unknown => controller.signal.reason;

  let current: URL;
  try {
    current = new URL(url);
  } catch {
    throw new FetchError('the bundle URL is not a valid URL');
  }
  let host = current.hostname;
  try {
    for (let redirects = 0; ; redirects++) {
      checkUrl(current, limits.egress);
      host = current.hostname;
      const response = await get(current, limits.egress, controller.signal);
      const status = response.statusCode ?? 0;
      // Only a 2xx body is read; any other answer's body is dropped unread.
      if (REDIRECTS.has(status)) {
        response.destroy();
        if (redirects >= limits.maxRedirects) throw new FetchError(`the bundle URL redirected more than ${limits.maxRedirects} times`);
        const location = response.headers.location;
        if (!location) throw new FetchError(`the host ${host} answered HTTP ${status} without a Location`);
        try {
          current = new URL(location, current);
        } catch {
          throw new FetchError(`the host ${host} redirected to an invalid URL`);
        }
        continue;
      }
      if (status < 200 || status > 299) {
        response.destroy();
        throw new FetchError(`the host ${host} answered HTTP ${status}`);
      }
      const declared = Number(response.headers['content-length']);
      if (Number.isFinite(declared) && declared > limits.maxBytes) {
        response.destroy();
        throw new FetchError(`the bundle is ${declared} bytes, larger than the limit of ${limits.maxBytes} bytes`);
      }
      const limiter = new ByteLimit(limits.maxBytes);
      await pipeline(response, limiter, createWriteStream(path, { mode: PRIVATE_FILE_MODE }), { signal: controller.signal });
      return { bytes: limiter.bytes };
    }
  } catch (err) {
    if (controller.signal.aborted) {
      const reason = aborted();
      throw reason instanceof Error ? reason : new FetchError('the download was stopped');
    }
    throw describe(err, host);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', stop);
  }
}
