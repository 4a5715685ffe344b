/** Per-client limits count an IPv4 address as itself and an IPv6 address by its /64 network. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddressSlots, clientKey } from '../../../src/core/kernel/addresses.js';

describe('client keys', () => {
  it('read IPv4 as itself, however written, and IPv6 by its /64', () => {
    assert.equal(clientKey('10.1.2.3'), '10.1.2.3');
    assert.equal(clientKey('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(clientKey('2001:db8:1:2::1'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:DB8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:db8:0001:0002:0:0:0:9'), '2001:db8:1:2::/64');
    assert.notEqual(clientKey('2001:db8:1:3::1'), clientKey('2001:db8:1:2::1'));
    assert.equal(clientKey('::1'), '0:0:0:0::/64');
    assert.equal(clientKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  });

  it('hold one budget for every address of a /64', () => {
    const slots = new AddressSlots(2);
    assert.ok(slots.take('2001:db8:1:2::1'));
    assert.ok(slots.take('2001:db8:1:2::2'));
    assert.equal(slots.take('2001:db8:1:2:ffff::3'), false, 'a third address of the same /64 shares the budget');
    assert.ok(slots.take('2001:db8:1:3::1'), 'another /64 has its own');
    slots.release('2001:db8:1:2::1');
    assert.ok(slots.take('2001:db8:1:2::9'));
  });
});
