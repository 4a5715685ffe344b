/**
 * The pure parts of the Kickflip adapter and its core rules: app slugs, paging, Kickflip dates,
 * and how request fields are read from form and JSON values.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appSlug } from '../../../src/core/dialects/kickflip/oauth-clients.js';
import { ValidationError } from '../../../src/core/kernel/errors.js';
import { MAX_PER_PAGE, paging } from '../../../src/core/dialects/kickflip/stream-search.js';
import { boolean, jsonText, location, number, parseBody, text } from '../../../src/api/kickflip/fields.js';
import { kickflipDate } from '../../../src/api/kickflip/present.js';

describe('Kickflip rules and field reading', () => {
  it('app slugs are path-safe', () => {
    assert.equal(appSlug('Kickflip iOS 123'), 'kickflip-ios-123');
    assert.equal(appSlug('  Café / Ünïcode!! '), 'cafe-unicode');
    assert.equal(appSlug('!!!'), 'app');
    assert.ok(appSlug('x'.repeat(500)).length <= 48);
  });

  it('pages count from 1; sizes default to 25 and are capped', () => {
    assert.deepEqual(paging(undefined, undefined), { page: 1, perPage: 25 });
    assert.deepEqual(paging(3, 1_000_000), { page: 3, perPage: MAX_PER_PAGE });
    for (const [page, perPage] of [[0, 1], [-1, 1], [1.5, 1], [1, 0]] as const) {
      assert.throws(() => paging(page, perPage), ValidationError);
    }
  });

  it('dates are UTC MM/dd/yyyy HH:mm:ss', () => {
    assert.equal(kickflipDate('2015-03-04T05:06:07.890Z'), '03/04/2015 05:06:07');
    assert.equal(kickflipDate('1999-12-31T23:59:59.999Z'), '12/31/1999 23:59:59');
  });

  it('form and JSON values read the same; empty is absent; wrong types are refused', () => {
    const form = parseBody('lat=37.42&lon=-122.08&private=true&title=&extra_info=%7B%22a%22%3A1%7D', 'application/x-www-form-urlencoded');
    const json = parseBody('{"lat":37.42,"lon":-122.08,"private":true,"title":"","extra_info":{"a":1}}', 'application/json; charset=utf-8');
    for (const fields of [form, json]) {
      assert.deepEqual(location(fields, 'lat', 'lon'), { latitude: 37.42, longitude: -122.08 });
      assert.equal(boolean(fields, 'private'), true);
      assert.equal(text(fields, 'title'), undefined);
      assert.equal(jsonText(fields, 'extra_info'), '{"a":1}');
    }
    assert.deepEqual(parseBody('', 'application/json'), {});
    assert.throws(() => parseBody('[1]', 'application/json'), ValidationError);
    assert.throws(() => parseBody('{', 'application/json'), ValidationError);
    assert.throws(() => number({ lat: '1e999' }, 'lat'), ValidationError);
    assert.throws(() => number({ lat: '0x10' }, 'lat'), ValidationError);
    assert.throws(() => boolean({ private: 'maybe' }, 'private'), ValidationError);
    assert.throws(() => text({ title: { a: 1 } }, 'title'), ValidationError);
    assert.throws(() => location({ lat: '1' }, 'lat', 'lon'), ValidationError);
    assert.equal(boolean({ private: 'False' }, 'private'), false);
    assert.equal(boolean({ private: 0 }, 'private'), false);
  });
});
