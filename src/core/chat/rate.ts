import { DomainError } from '../kernel/errors.js';

/** At most `messages` posts by one account to one stream's chat in any `seconds`-long span. */
export interface ChatRate {
  messages: number;
  seconds: number;
}

/** A post came too soon after the poster's last ones. */
export class RateLimitedError extends DomainError {
  override readonly name = 'RateLimitedError';
  constructor(
    message: string,
    /** Whole seconds until a post would be accepted. */
    readonly retryAfter: number,
  ) {
    super(message);
  }
}

/** `N/S`: N messages per S seconds. Undefined when the text is not of that form. */
export function parseChatRate(text: string): ChatRate | undefined {
  const match = /^(\d{1,6})\/(\d{1,6})$/.exec(text);
  if (!match) return undefined;
  const rate = { messages: Number(match[1]), seconds: Number(match[2]) };
  return rate.messages >= 1 && rate.seconds >= 1 ? rate : undefined;
}

/** The start of the span a post at `now` is counted in. */
export function rateWindowStart(rate: ChatRate, now: string): string {
  return new Date(Date.parse(now) - rate.seconds * 1000).toISOString();
}

/**
 * Refuses a post at `now` when the poster's recent posts (newest first, those inside the
 * span, at most `rate.messages` of them) already fill the span.
 */
export function checkChatRate(rate: ChatRate, now: string, recent: readonly string[]): void {
  if (recent.length < rate.messages) return;
  // The oldest of the last `messages` posts leaves the span first.
  const oldest = Date.parse(recent[rate.messages - 1]!);
  const retryAfter = Math.max(1, Math.ceil((oldest + rate.seconds * 1000 - Date.parse(now)) / 1000));
  throw new RateLimitedError(`Too many messages: at most ${rate.messages} in ${rate.seconds} s; try again in ${retryAfter} s`, retryAfter);
}
