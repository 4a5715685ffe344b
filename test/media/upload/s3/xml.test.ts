/**
 * The CompleteMultipartUpload part list: garbage is S3's MalformedXML (HTTP 400), never an
 * internal error, including character references that name no character.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { S3Error } from '../../../../src/media/upload/s3/errors.js';
import { parseCompleteMultipartUpload } from '../../../../src/media/upload/s3/xml.js';

const malformed = (err: unknown) => err instanceof S3Error && err.code === 'MalformedXML' && err.status === 400;

describe('CompleteMultipartUpload XML', () => {
  test('reads character references in an ETag', () => {
    assert.deepEqual(parseCompleteMultipartUpload('<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;a&#98;&#x63;&quot;</ETag></Part></CompleteMultipartUpload>'), [
      { partNumber: 1, etag: 'abc' },
    ]);
  });

  test('refuses references beyond Unicode as MalformedXML', () => {
    for (const ref of ['&#99999999;', '&#x110000;', '&#xFFFFFFFFFF;', '&#1114112;']) {
      assert.throws(() => parseCompleteMultipartUpload(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${ref}</ETag></Part></CompleteMultipartUpload>`), malformed, ref);
    }
  });
});
