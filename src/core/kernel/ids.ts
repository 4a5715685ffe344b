import { createHash, randomBytes, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';

/** A value of type T that has been checked to be a particular kind of id or secret. */
type Brand<T, B extends string> = T & { readonly __brand: B };

export type AccountId = Brand<string, 'AccountId'>;
export type StreamId = Brand<string, 'StreamId'>;
export type BroadcastId = Brand<string, 'BroadcastId'>;
export type DestinationId = Brand<string, 'DestinationId'>;
/** The secret a publisher puts in its ingest URL. Never logged. */
export type StreamKey = Brand<string, 'StreamKey'>;
export type AppId = Brand<string, 'AppId'>;
export type VersionId = Brand<string, 'VersionId'>;
export type CommentId = Brand<string, 'CommentId'>;
/** An account's API token (Kickfolio's `auth_token`). A secret: never logged. */
export type ApiToken = Brand<string, 'ApiToken'>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export function newId<T extends string>(): Brand<string, T> {
  return randomUUID() as Brand<string, T>;
}

/**
 * A fresh stream key: 128 bits from the CSPRNG as unpadded base64url, 22 characters from
 * [A-Za-z0-9_-], the form rig clients know (`_mYrirpvU-OkH5LoVDci4g`).
 */
export function newStreamKey(): StreamKey {
  return randomBytes(16).toString('base64url') as StreamKey;
}

/**
 * A public number id a dialect shows its clients, drawn uniformly from [min, max] by the CSPRNG:
 * unlike a counter, it tells nobody how many others were made. The caller makes sure it is free.
 */
export function randomPublicNumber(min: number, max: number): number {
  return randomInt(min, max + 1);
}

/** The largest id a client keeping ids in a signed 32-bit integer (a PostgreSQL serial, Flash's int) can hold. */
export const MAX_INT32_ID = 2_147_483_647;

/** Picks ids with `draw` until `isFree` says one is free; a few tries are plenty in a space of 2^30. */
export async function freeRandomId<T>(draw: () => T, isFree: (id: T) => Promise<boolean>, tries = 16): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const id = draw();
    if (await isFree(id)) return id;
  }
  throw new Error(`no free id after ${tries} random tries`);
}

/** The index under which a secret (a stream key, an access token) is stored and looked up: its SHA-256. */
export function secretDigest(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Compares two secrets without a timing side channel on their contents. */
export function secretsEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}
