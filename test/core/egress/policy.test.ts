/**
 * The egress policy: every way of writing a private address is judged by the address it names,
 * at save time (urlRefusal) and at connect time (the lookup and connectOptions), and nothing is
 * refused when private networks are opened.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EgressPolicy, EgressRefusedError } from '../../../src/core/egress/policy.js';

const closed = new EgressPolicy(false);
const open = new EgressPolicy(true);

describe('the egress policy', () => {
  it('refuses private, loopback, link-local, CGNAT, multicast and "this network" addresses, however written', async () => {
    const cases: [string, RegExp][] = [
      ['http://127.0.0.1/', /loopback/],
      ['http://169.254.169.254/latest/meta-data/', /link-local/],
      ['http://10.0.0.7/', /private network/],
      ['http://192.168.1.1/', /private network/],
      ['http://100.64.0.1/', /carrier-grade NAT/],
      ['http://224.0.0.1/', /multicast/],
      ['http://0.0.0.0/', /this network/],
      ['http://[::1]/', /loopback/],
      ['http://[::ffff:127.0.0.1]/', /loopback/],
      ['http://[::ffff:a9fe:a9fe]/', /link-local/],
      ['http://2130706433/', /127\.0\.0\.1 is a loopback/],
      ['http://0x7f000001/', /127\.0\.0\.1 is a loopback/],
      ['http://0177.0.0.1/', /127\.0\.0\.1 is a loopback/],
      ['http://localhost:8080/', /^the host localhost resolves to a loopback address;/],
      ['rtmp://2130706433/live/k', /loopback/],
      ['rtmp://0x7f.0.0.1/live/k', /loopback/],
    ];
    for (const [url, reason] of cases) {
      const scheme = new URL(url).protocol.slice(0, -1);
      assert.match((await closed.urlRefusal(url, [scheme])) ?? 'allowed', reason, url);
      assert.equal(await open.urlRefusal(url, [scheme]), undefined, `${url} with private networks open`);
    }
    const named = await closed.urlRefusal('http://localhost:8080/', ['http']);
    assert.doesNotMatch(named ?? '', /127\.0\.0\.1|::1/, 'the address a name resolves to is not told (it would map internal DNS)');
    assert.equal(await closed.urlRefusal('http://8.8.8.8/hook', ['http', 'https']), undefined);
    assert.match((await closed.urlRefusal('ftp://8.8.8.8/', ['http', 'https'])) ?? '', /must be a http:\/\/ or https:\/\/ URL/);
    assert.match((await closed.urlRefusal('not a url', ['http'])) ?? '', /not a valid URL/);
    // A name that does not resolve yet may be saved: the connection is checked when it is made.
    assert.equal(await closed.urlRefusal('https://no-such-host.invalid/hook', ['https']), undefined);
  });

  it('checks again at connect time: literal addresses in connectOptions, names through the lookup', async () => {
    assert.throws(() => closed.connectOptions('127.0.0.1'), EgressRefusedError);
    assert.throws(() => closed.connectOptions('[::1]'), EgressRefusedError);
    assert.ok(open.connectOptions('127.0.0.1').lookup);
    const lookup = (policy: EgressPolicy, host: string) =>
      new Promise<string>((resolve, reject) => policy.lookup(host, { all: false }, (err, address) => (err ? reject(err) : resolve(address as string))));
    await assert.rejects(lookup(closed, 'localhost'), (err: Error) => err instanceof EgressRefusedError && /loopback/.test(err.message));
    // glibc reads a bare number as an IPv4 address: the answer is what is checked.
    await assert.rejects(lookup(closed, '2130706433'), EgressRefusedError);
    assert.match(await lookup(open, 'localhost'), /^(127\.0\.0\.1|::1)$/);
    await assert.rejects(closed.pin('localhost'), EgressRefusedError);
    assert.equal(await closed.pin('8.8.8.8'), '8.8.8.8');
  });
});
