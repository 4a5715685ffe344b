import { isIP } from 'node:net';

/**
 * Client addresses, as every per-address rule counts them (failed logins, open connections).
 */

/**
 * The client an address stands for, as every per-client limit counts it: an IPv4 address as it
 * is (also when written as IPv6, `::ffff:10.0.0.1`), an IPv6 address by its /64 network, since
 * one host or customer is given a whole /64 and could otherwise take a new address per try.
 */
export function clientKey(address: string): string {
  const text = address.toLowerCase().replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (mapped) return mapped[1]!;
  if (isIP(text) !== 6) return text;
  const [head = '', tail] = text.split('::');
  const front = head === '' ? [] : head.split(':');
  const back = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? front : [...front, ...Array<string>(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back];
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

/**
 * At most `max` things held at once per client address (open connections): `take` says whether
 * one more may be held, `release` gives one back. 0 for no limit.
 */
export class AddressSlots {
  private readonly held = new Map<string, number>();

  constructor(private readonly max: number) {}

  take(address: string | undefined): boolean {
    if (this.max === 0) return true;
    const key = clientKey(address ?? 'unknown');
    const count = this.held.get(key) ?? 0;
    if (count >= this.max) return false;
    this.held.set(key, count + 1);
    return true;
  }

  /**
   * Takes a slot for a connection from its address, given back when it closes; false (nothing
   * taken) when its address holds all of its own already.
   */
  hold(connection: { remoteAddress?: string | undefined; once(event: 'close', listener: () => void): unknown }): boolean {
    const address = connection.remoteAddress;
    if (!this.take(address)) return false;
    connection.once('close', () => this.release(address));
    return true;
  }

  release(address: string | undefined): void {
    if (this.max === 0) return;
    const key = clientKey(address ?? 'unknown');
    const count = (this.held.get(key) ?? 0) - 1;
    if (count > 0) this.held.set(key, count);
    else this.held.delete(key);
  }
}
