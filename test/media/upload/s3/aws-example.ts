/**
 * The example credentials of AWS's signature documentation, as an upload credential the S3
 * endpoint's authentication can be asked about without a server or a database.
 */
import assert from 'node:assert/strict';
import type { StreamId } from '../../../../src/core/kernel/ids.js';
import type { UploadCredential } from '../../../../src/core/uploads/credentials.js';
import { S3Error } from '../../../../src/media/upload/s3/errors.js';

export const ACCESS_KEY = 'AKIAIOSFODNN7EXAMPLE';
export const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

export function exampleCredential(overrides: Partial<UploadCredential> = {}): UploadCredential {
  return {
    accessKeyId: ACCESS_KEY,
    secretAccessKey: SECRET,
    streamId: 'stream' as StreamId,
    prefix: '',
    expiresAt: '2030-01-01T00:00:00.000Z',
    sessionTokenMatches: (t) => t === 'the-token',
    ...overrides,
  };
}

/** authenticate()'s options at the clock `now`, with one credential in the store. */
export function authOptions(now: number, credential = exampleCredential()) {
  return {
    region: 'us-east-1',
    now,
    credential: async (id: string) => (id === credential.accessKeyId ? credential : undefined),
    isExpired: (c: UploadCredential) => Date.parse(c.expiresAt) <= now,
  };
}

/** Node's raw header list ([name, value, name, value, …]) of a header object. */
export function rawHeaders(headers: Record<string, string>): string[] {
  return Object.entries(headers).flatMap(([k, v]) => [k, v]);
}

/** Asserts that `promise` fails with the S3 error `code`. */
export async function rejects(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => err instanceof S3Error && err.code === code);
}
