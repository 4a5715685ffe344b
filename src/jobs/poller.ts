/** The longest delay a Node timer takes (about 24.8 days); a later due time is re-read when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** After a failed run (the database away, say) the worker tries again this soon, sweep or not. */
export const FAILED_RUN_RETRY_MS = 5_000;

/**
 * What a run of a queue worker says about the next one: in how many ms something it knows of
 * comes due (0 or less: now), or undefined when nothing is waiting.
 */
export type NextRun = number | undefined;

export interface PollerOptions {
  /**
   * The longest the worker sleeps even when nothing is due, in ms; undefined: it sleeps until
   * kicked. A worker of a cluster sets it for what no kick or due time covers (work a dead node
   * left, an event the bus lost), so it is minutes, never a busy poll.
   */
  sweepMs?: number;
  onError: (err: unknown) => void;
}

/**
 * The loop behind every queue worker of a node (callback delivery, bundle processing): `work`
 * runs when kicked (something was queued, on this node or announced by another) and otherwise
 * at the time its last run said something comes due, or after the safety sweep, whichever is
 * first. Between runs there is at most one timer, and none when nothing is due and there is no
 * sweep: an idle node does not wake. Never two runs at once: a kick during a run makes one more
 * run after it. A failed run is reported and tried again after FAILED_RUN_RETRY_MS. The timer
 * is unref'd, so a poller alone does not keep the process alive.
 */
export class Poller {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly work: () => Promise<NextRun>,
    private readonly options: PollerOptions,
  ) {}

  /** Runs the work after `delayMs` (now by default), then on every kick and due time until stopped. */
  start(delayMs = 0): void {
    if (delayMs <= 0) {
      this.kick();
      return;
    }
    this.schedule(delayMs);
  }

  /** Runs the work as soon as the current run (if any) has ended. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    let next: NextRun;
    this.running = this.work()
      .then((due) => void (next = due))
      .catch((err: unknown) => {
        next = FAILED_RUN_RETRY_MS;
        this.options.onError(err);
      })
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        } else if (!this.stopped) {
          const wait = next === undefined ? this.options.sweepMs : Math.min(next, this.options.sweepMs ?? Infinity);
          if (wait !== undefined) this.schedule(wait);
        }
      });
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** No run starts after this; resolves when the current one has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), Math.min(Math.max(0, delayMs), MAX_TIMER_MS));
    this.timer.unref();
  }
}
