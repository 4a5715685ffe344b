/**
 * One timer for every periodic job of the same period (each live stream's bitrate sample, each
 * relay's status report): however many streams and relays are live, the process wakes once per
 * period, and not at all when none is, instead of keeping an interval per stream and per relay.
 */
export class Ticker {
  private readonly jobs = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly periodMs: number) {}

  /** Runs `job` every period from now on; returns what stops it. */
  add(job: () => void): () => void {
    this.jobs.add(job);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.tick(), this.periodMs);
      this.timer.unref();
    }
    return () => {
      this.jobs.delete(job);
      if (this.jobs.size === 0 && this.timer !== undefined) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  get size(): number {
    return this.jobs.size;
  }

  private tick(): void {
    for (const job of this.jobs) {
      try {
        job();
      } catch (err) {
        // One job's failure neither stops the others nor goes unnoticed: it surfaces as it would
        // from a timer of its own.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

const tickers = new Map<number, Ticker>();

/** The process's ticker for a period (made on first use). */
export function tickerEvery(periodMs: number): Ticker {
  let ticker = tickers.get(periodMs);
  if (!ticker) tickers.set(periodMs, (ticker = new Ticker(periodMs)));
  return ticker;
}
