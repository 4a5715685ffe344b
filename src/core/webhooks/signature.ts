import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * How a webhook delivery is signed, so its receiver can tell it came from this server and was
 * not altered or replayed. Each attempt carries:
 *   X-Streamdelta-Timestamp: <unix seconds of this attempt>
 *   X-Streamdelta-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the webhook's secret>
 *   X-Streamdelta-Delivery:  <id of the delivery, the same on every retry>
 * The timestamp is inside the signed bytes, so a receiver that refuses old timestamps (say,
 * more than five minutes off) and delivery ids it has seen is safe from replays.
 */
export const SIGNATURE_HEADER = 'x-streamdelta-signature';
export const TIMESTAMP_HEADER = 'x-streamdelta-timestamp';
export const DELIVERY_HEADER = 'x-streamdelta-delivery';

export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/** The headers of one signed attempt. */
export function signedHeaders(secret: string, deliveryId: string, body: string, now: Date): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  return {
    [TIMESTAMP_HEADER]: String(timestamp),
    [SIGNATURE_HEADER]: webhookSignature(secret, timestamp, body),
    [DELIVERY_HEADER]: deliveryId,
  };
}

/** Mux's signature header: the live API's webhooks are signed as Mux signs them, so Mux SDKs verify them. */
export const MUX_SIGNATURE_HEADER = 'mux-signature';

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the endpoint's secret>`. */
export function muxSignature(secret: string, body: string, now: Date): string {
  const timestamp = Math.floor(now.getTime() / 1000);
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/** How the attempts of a callback are signed: streamdelta's headers, or Mux's. */
export type SignatureScheme = 'streamdelta' | 'mux';

/** The signature headers of one attempt in the given scheme. */
export function signatureHeaders(scheme: SignatureScheme, secret: string, deliveryId: string, body: string, now: Date): Record<string, string> {
  return scheme === 'mux' ? { [MUX_SIGNATURE_HEADER]: muxSignature(secret, body, now) } : signedHeaders(secret, deliveryId, body, now);
}

/**
 * What a receiver does (here for tests and for anyone embedding streamdelta): the signature
 * matches and the timestamp is within `toleranceSeconds` of `now`.
 */
export function verifyWebhook(
  secret: string,
  headers: { signature: string | undefined; timestamp: string | undefined },
  body: string,
  now: Date,
  toleranceSeconds = 300,
): boolean {
  if (!headers.signature || !headers.timestamp || !/^\d{1,12}$/.test(headers.timestamp)) return false;
  const timestamp = Number(headers.timestamp);
  if (Math.abs(now.getTime() / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(webhookSignature(secret, timestamp, body), 'utf8');
  const given = Buffer.from(headers.signature, 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}
