import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { lookup as lookupAll } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { classifyAddress } from './addresses.js';

/** A connection the egress policy refused; its message is fit for the user and names no secret. */
export class EgressRefusedError extends Error {
  override readonly name = 'EgressRefusedError';
}

const PRIVATE_OFF = 'private networks are turned off (see --allow-private-fetch)';

/**
 * The one rule for every connection the server makes on a user's behalf: webhooks and site
 * callbacks, viewer admission, bundle downloads, relays to destinations, pullers. Unless private
 * networks are allowed (`--allow-private-fetch`, for tests and closed networks), every address
 * such a connection reaches must be a public unicast address: loopback, private and shared
 * networks, link-local (cloud metadata at 169.254.169.254), `0.0.0.0`, multicast, reserved
 * ranges and IPv6 forms carrying such an IPv4 address are refused, whatever way the address was
 * written (a name, a dotted quad, a decimal, hex or octal literal, IPv4-mapped IPv6).
 *
 * It is applied twice: when a URL is saved (a clear refusal at once) and when the connection is
 * made (the name is resolved again, and a DNS answer that changed meanwhile is refused too).
 */
export class EgressPolicy {
  constructor(readonly allowPrivate: boolean) {}

  /** Why `address` (what `host` resolved to) may not be connected to, or undefined. */
  addressRefusal(host: string, address: string): string | undefined {
    if (this.allowPrivate) return undefined;
    const kind = classifyAddress(address);
    if (kind.public) return undefined;
    // A name's address is not told: the answer would let a user map the server's internal DNS.
    if (host === address) return `the host ${host} is ${kind.label}; ${PRIVATE_OFF}`;
    return `the host ${host} resolves to ${kind.label}; ${PRIVATE_OFF}`;
  }

  /**
   * Why a URL may not be saved for the server to reach later, or undefined: it must parse, use
   * one of `schemes` (lower case, without the colon), name a host, and every address the host
   * resolves to now must be allowed. A name that does not resolve yet is let through (a
   * webhook's host may be set up after the hook): the check at connect time still holds.
   */
  async urlRefusal(text: string, schemes: readonly string[]): Promise<string | undefined> {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return 'is not a valid URL';
    }
    const scheme = url.protocol.slice(0, -1).toLowerCase();
    if (!schemes.includes(scheme)) return `must be a ${schemes.map((s) => `${s}://`).join(' or ')} URL`;
    return this.hostRefusal(url.hostname, { unresolved: 'accept' });
  }

  /**
   * Why `host` (a name or a literal address) may not be connected to now, or undefined: every
   * address the name resolves to must be allowed. A check ahead of the connection: whoever
   * connects later resolves the name again (through `lookup`, or gets a `pin`ned address).
   */
  async hostRefusal(host: string, options: { unresolved: 'refuse' | 'accept' } = { unresolved: 'refuse' }): Promise<string | undefined> {
    const bare = host.replace(/^\[|\]$/g, '');
    if (bare === '') return 'names no host';
    if (this.allowPrivate) return undefined;
    let addresses: string[];
    if (isIP(bare.replace(/%.*$/, ''))) {
      addresses = [bare];
    } else {
      try {
        addresses = (await lookupAll(bare, { all: true, verbatim: true })).map((a) => a.address);
      } catch (err) {
        return options.unresolved === 'accept' ? undefined : `the host ${bare} could not be resolved (${(err as { code?: string }).code ?? 'error'})`;
      }
      if (addresses.length === 0) return options.unresolved === 'accept' ? undefined : `the host ${bare} has no address`;
    }
    for (const address of addresses) {
      const refusal = this.addressRefusal(bare, address);
      if (refusal) return refusal;
    }
    return undefined;
  }

  /**
   * A DNS lookup for sockets (net, tls, http and https take it as `lookup`) that refuses a name
   * with any address that may not be connected to, so the check and the connection see the
   * same answer.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      if (addresses.length === 0) return callback(new EgressRefusedError(`the host ${hostname} has no address`), '', 0);
      for (const a of addresses) {
        const refusal = this.addressRefusal(hostname, a.address);
        if (refusal) return callback(new EgressRefusedError(refusal), '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, all: LookupAddress[]) => void)(null, addresses);
      return callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };

  /**
   * What to add to the options of a connection to `host` (a name or a literal address, IPv6
   * with or without brackets): the guarded lookup. A literal address is never looked up, so it
   * is checked here; EgressRefusedError when it is refused.
   */
  connectOptions(host: string): { lookup: LookupFunction } {
    const bare = host.replace(/^\[|\]$/g, '');
    if (isIP(bare)) {
      const refusal = this.addressRefusal(bare, bare);
      if (refusal) throw new EgressRefusedError(refusal);
    }
    return { lookup: this.lookup };
  }

  /**
   * One checked address for `host`, for a program that would otherwise resolve the name itself
   * (ffmpeg): it is handed the address, so it connects to exactly what was checked.
   */
  async pin(host: string): Promise<string> {
    const bare = host.replace(/^\[|\]$/g, '');
    if (isIP(bare)) {
      const refusal = this.addressRefusal(bare, bare);
      if (refusal) throw new EgressRefusedError(refusal);
      return bare;
    }
    return new Promise((resolve, reject) => {
      this.lookup(bare, { all: false }, (err, address) => (err ? reject(err instanceof EgressRefusedError ? err : new EgressRefusedError(`the host ${bare} could not be resolved (${(err as NodeJS.ErrnoException).code ?? 'error'})`)) : resolve(address as string)));
    });
  }
}
