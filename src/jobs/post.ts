import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { EgressRefusedError, type EgressPolicy } from '../core/egress/policy.js';

/** The most of an answer's body that is read: enough for any status text a receiver sends back. */
export const MAX_ANSWER_BYTES = 64 * 1024;

export interface PostAnswer {
  status: number;
  /** The start of the body, at most MAX_ANSWER_BYTES, as UTF-8. */
  text: string;
}

/** POSTs a form body; see `post`. */
export function postForm(egress: EgressPolicy, url: string, body: string, timeoutMs: number): Promise<PostAnswer> {
  return post(egress, url, body, { 'content-type': 'application/x-www-form-urlencoded' }, timeoutMs);
}

/**
 * POSTs a body to a URL a user gave (a webhook, a site's callback), as the egress policy allows:
 * http and https only, every address the host resolves to checked when the connection is made;
 * no redirect is followed; at most MAX_ANSWER_BYTES of the answer are read (the connection is
 * dropped after that, so a receiver streaming an endless body costs nothing); and the whole
 * exchange, answer included, must end within `timeoutMs`. Rejects on a refused address, a
 * network failure or the deadline, with a message that names no secret.
 */
export function post(egress: EgressPolicy, url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<PostAnswer> {
  return new Promise((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      reject(new Error('the URL is not valid'));
      return;
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      reject(new EgressRefusedError(`only http:// and https:// URLs are called (got ${target.protocol})`));
      return;
    }
    let guard;
    try {
      guard = egress.connectOptions(target.hostname);
    } catch (err) {
      reject(err);
      return;
    }
    const request = (target.protocol === 'https:' ? httpsRequest : httpRequest)(target, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      ...guard,
    });
    const deadline = setTimeout(() => {
      const err = new Error('timed out');
      err.name = 'TimeoutError';
      request.destroy(err);
    }, timeoutMs);
    deadline.unref();
    const fail = (err: Error) => {
      clearTimeout(deadline);
      reject(err);
    };
    request.once('error', fail);
    request.once('response', (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      const done = () => {
        clearTimeout(deadline);
        resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      };
      response.on('data', (chunk: Buffer) => {
        if (kept >= MAX_ANSWER_BYTES) return;
        const part = chunk.subarray(0, MAX_ANSWER_BYTES - kept);
        chunks.push(part);
        kept += part.length;
        if (kept >= MAX_ANSWER_BYTES) {
          // Enough: the rest is not read, and the connection goes.
          response.destroy();
          done();
        }
      });
      response.once('end', done);
      response.once('error', (err) => (kept >= MAX_ANSWER_BYTES ? undefined : fail(err)));
      response.once('aborted', () => (kept >= MAX_ANSWER_BYTES ? undefined : fail(new Error('the connection closed before the answer was complete'))));
    });
    request.end(body);
  });
}
