import { createHash } from 'node:crypto';
import { clientKey } from '../kernel/addresses.js';

/** How viewer admission keeps anonymous requests from turning into a flood of questions to a site. */
export interface AdmissionLimits {
  /** Seconds an admission (the viewer token it gave) is reused for the same stream, key and address. */
  admittedTtlSeconds: number;
  /** Seconds a refusal is reused: the site is not asked again about that key meanwhile. */
  refusedTtlSeconds: number;
  /** Questions to the site in flight at once about one stream; more are answered busy without asking. */
  maxPerStream: number;
  /** Questions in flight at once from one address, whatever the stream. */
  maxPerAddress: number;
  /** Answers remembered at most (the oldest are forgotten first). */
  maxRemembered?: number;
}

export const DEFAULT_ADMISSION_LIMITS: Required<AdmissionLimits> = {
  admittedTtlSeconds: 60,
  refusedTtlSeconds: 10,
  maxPerStream: 16,
  maxPerAddress: 4,
  maxRemembered: 10_000,
};

/** Asks whoever admits viewers of the stream (a site's login callback): a viewer token, or undefined when refused. */
export type AskAdmission = (streamId: string, viewerKey: string, address: string) => Promise<string | undefined>;

export type AdmissionAnswer =
  | { admitted: true; token: string }
  /** `refused`: the site said no (or could not be asked); `busy`: too many questions in flight, try again shortly. */
  | { admitted: false; reason: 'refused' | 'busy' };

const REFUSED: AdmissionAnswer = { admitted: false, reason: 'refused' };
const BUSY: AdmissionAnswer = { admitted: false, reason: 'busy' };

/**
 * Viewer admission by someone else's word (StreamAPI's `login` callback), which any anonymous
 * request with a `?key=` can set off. So that no request costs the site more than the first:
 * - answers are remembered per stream, key and address: admissions for `admittedTtlSeconds`,
 *   refusals (and a site that failed to answer) for `refusedTtlSeconds`;
 * - a question already in flight is not asked again: the later askers wait for its answer;
 * - at most `maxPerStream` questions about one stream and `maxPerAddress` from one address are
 *   in flight at once; others are answered `busy` at once, neither asked nor remembered.
 * State of this node only: each node asks at most its own share.
 */
export class ViewerAdmissions {
  private readonly limits: Required<AdmissionLimits>;
  private readonly answers = new Map<string, { answer: AdmissionAnswer; until: number }>();
  private readonly inFlight = new Map<string, Promise<AdmissionAnswer>>();
  private readonly perStream = new Map<string, number>();
  private readonly perAddress = new Map<string, number>();

  constructor(
    limits: AdmissionLimits,
    private readonly ask: AskAdmission,
    private readonly now: () => number = Date.now,
  ) {
    this.limits = { ...DEFAULT_ADMISSION_LIMITS, ...limits };
  }

  /** How many answers are remembered now. */
  get remembered(): number {
    return this.answers.size;
  }

  async admit(streamId: string, viewerKey: string, address: string): Promise<AdmissionAnswer> {
    // Keys are kept as digests: the memory of this node holds no viewer's key.
    const question = `${streamId}\u0000${createHash('sha256').update(viewerKey).digest('base64url')}\u0000${address}`;
    const known = this.answers.get(question);
    if (known && known.until > this.now()) return known.answer;
    if (known) this.answers.delete(question);
    const asked = this.inFlight.get(question);
    if (asked) return asked;
    const client = clientKey(address);
    if ((this.perStream.get(streamId) ?? 0) >= this.limits.maxPerStream || (this.perAddress.get(client) ?? 0) >= this.limits.maxPerAddress) return BUSY;

    const answer = this.askSite(streamId, viewerKey, address);
    this.inFlight.set(question, answer);
    count(this.perStream, streamId, 1);
    count(this.perAddress, client, 1);
    try {
      const result = await answer;
      this.remember(question, result);
      return result;
    } finally {
      this.inFlight.delete(question);
      count(this.perStream, streamId, -1);
      count(this.perAddress, client, -1);
    }
  }

  private async askSite(streamId: string, viewerKey: string, address: string): Promise<AdmissionAnswer> {
    try {
      const token = await this.ask(streamId, viewerKey, address);
      return token === undefined ? REFUSED : { admitted: true, token };
    } catch {
      return REFUSED;
    }
  }

  private remember(question: string, answer: AdmissionAnswer): void {
    const seconds = answer.admitted ? this.limits.admittedTtlSeconds : this.limits.refusedTtlSeconds;
    if (seconds <= 0) return;
    // Maps keep insertion order: the first entries are the oldest.
    while (this.answers.size >= this.limits.maxRemembered) {
      const oldest = this.answers.keys().next().value;
      if (oldest === undefined) break;
      this.answers.delete(oldest);
    }
    this.answers.set(question, { answer, until: this.now() + seconds * 1000 });
  }
}

function count(counts: Map<string, number>, key: string, by: 1 | -1): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next <= 0) counts.delete(key);
  else counts.set(key, next);
}
