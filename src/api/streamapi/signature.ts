import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * StreamAPI's request signature: the lower-case hex MD5 of the values of every parameter
 * present except `sig` and `rid`, in the order of their names (`key` included), then the
 * secret, then the rid. Absent optional parameters are simply not part of it.
 */
export function requestSignature(params: Readonly<Record<string, string>>, secret: string, rid: string): string {
  const values = Object.keys(params)
    .filter((name) => name !== 'sig' && name !== 'rid')
    .sort()
    .map((name) => params[name]!);
  return createHash('md5').update(values.join('') + secret + rid, 'utf8').digest('hex');
}

export function signatureValid(params: Readonly<Record<string, string>>, secret: string, rid: string, sig: string): boolean {
  const expected = Buffer.from(requestSignature(params, secret, rid), 'utf8');
  const given = Buffer.from(sig.toLowerCase(), 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
