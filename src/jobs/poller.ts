/**
 * The loop behind every queue worker of a node (callback delivery, bundle processing): `work`
 * runs when kicked (something was queued on this node) and otherwise every `intervalMs` (work
 * queued on another node, or come due). Never two runs at once: a kick during a run makes one
 * more run after it. A failed run is reported and the loop goes on. The timer is unref'd, so a
 * poller alone does not keep the process alive.
 */
export class Poller {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly work: () => Promise<void>,
    private readonly options: { intervalMs: number; onError: (err: unknown) => void },
  ) {}

  /** Runs the work after `delayMs` (now by default), then on every kick and interval until stopped. */
  start(delayMs = 0): void {
    if (delayMs <= 0) {
      this.kick();
      return;
    }
    this.timer = setTimeout(() => this.kick(), delayMs);
    this.timer.unref();
  }

  /** Runs the work as soon as the current run (if any) has ended. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.work()
      .catch((err: unknown) => this.options.onError(err))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        } else if (!this.stopped) {
          this.timer = setTimeout(() => this.kick(), this.options.intervalMs);
          this.timer.unref();
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
    await this.running;
  }
}
