/**
 * Client addresses, as every per-address rule counts them (failed logins, open connections).
 */

/** One address however it is written: an IPv4 address in IPv6 (`::ffff:10.0.0.1`) is the IPv4 address. */
export function normalAddress(address: string): string {
  return address.toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
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
    const key = normalAddress(address ?? 'unknown');
    const count = this.held.get(key) ?? 0;
    if (count >= this.max) return false;
    this.held.set(key, count + 1);
    return true;
  }

  release(address: string | undefined): void {
    if (this.max === 0) return;
    const key = normalAddress(address ?? 'unknown');
    const count = (this.held.get(key) ?? 0) - 1;
    if (count > 0) this.held.set(key, count);
    else this.held.delete(key);
  }
}
