/**
 * rig's body reading without a server: Go's encoding/json field matching and
 * gopkg.in/validator.v2's rules and words, as validation.ts reproduces them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RigError } from '../../../src/api/rig/envelope.js';
import { invalidFields, readBody, requestStruct } from '../../../src/api/rig/validation.js';

const struct = requestStruct({ Username: 'nonzero,min=3,max=8', StreamKey: 'nonzero' });

function refusal(body: unknown): { errorCode: number; details?: unknown } {
  try {
    readBody(body, struct);
  } catch (err) {
    assert.ok(err instanceof RigError, String(err));
    return err.body();
  }
  assert.fail('the body was accepted');
}

describe('rig body reading', () => {
  it('fills fields by JSON name, exactly or in any case, including the letters Go folds to s and k', () => {
    assert.deepEqual(readBody('{"username":"abc","streamKey":"k"}', struct), { Username: 'abc', StreamKey: 'k' });
    assert.deepEqual(readBody('{"USERNAME":"abc","STREAMKEY":"k"}', struct), { Username: 'abc', StreamKey: 'k' });
    assert.deepEqual(readBody('{"u\u017fername":"abc","\u212aey":"x","stream\u212aey":"k"}', struct), { Username: 'abc', StreamKey: 'k' });
    // Other look-alikes are other keys: dotless ı is not i.
    assert.deepEqual(readBody('{"username":"abc","streamKey":"k","usernamı":5}', struct), { Username: 'abc', StreamKey: 'k' });
  });

  it('lists failed rules in tag order, fields in sorted order, lengths in bytes', () => {
    assert.deepEqual(refusal('{}'), {
      message: 'Invalid input',
      errorCode: 1005,
      details: { StreamKey: ['zero value'], Username: ['zero value', 'less than min'] },
    });
    assert.deepEqual(Object.keys(refusal('{}').details as object), ['StreamKey', 'Username']);
    assert.deepEqual(refusal('{"username":"ééééé","streamKey":"k"}').details, { Username: ['greater than max'] });
    assert.deepEqual(readBody('{"username":"éééé","streamKey":"k"}', struct).Username, 'éééé');
  });

  it('refuses without details what Go\'s decoder refuses, and takes null as nothing', () => {
    for (const body of [undefined, '', '{', '[]', '"x"', '{"username":1,"streamKey":"k"}', '{"username":"abcd","streamKey":{}}']) {
      assert.deepEqual(refusal(body), { message: 'Invalid input', errorCode: 1005 }, String(body));
    }
    assert.deepEqual(readBody('{"username":"abcd","streamKey":"k","other":[1,{"a":null}]}', struct), { Username: 'abcd', StreamKey: 'k' });
    assert.deepEqual(refusal('null').details, { StreamKey: ['zero value'], Username: ['zero value', 'less than min'] });
    assert.deepEqual(refusal('{"username":null,"streamKey":"k"}').details, { Username: ['zero value', 'less than min'] });
  });

  it('answers the platform\'s own rules keyed by Go field name', () => {
    assert.deepEqual(invalidFields({ streamKey: 'must be printable', newPassword: 'too long' }).body(), {
      message: 'Invalid input',
      errorCode: 1005,
      details: { NewPassword: ['too long'], StreamKey: ['must be printable'] },
    });
  });

  it('knows only the rules rig uses', () => {
    assert.throws(() => requestStruct({ Email: 'email' }), /Unsupported validate rule/);
    assert.throws(() => requestStruct({ Email: 'min=x' }), /Unsupported validate rule/);
  });
});
