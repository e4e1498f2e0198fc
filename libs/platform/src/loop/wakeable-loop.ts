export interface WakeableLoopOptions {
  /** Called with what a tick threw; the loop then sleeps `errorDelayMs` and goes on. */
  onError?: (error: unknown) => void;
  errorDelayMs?: number;
}

/**
 * What a tick asks for next: a number of milliseconds to sleep (a `wake()` cuts it short), or 0 to tick again at once.
 */
export type TickResult = number;

/**
 * The one background loop of the services: it runs `tick` over and over, sleeping what each tick asks for. A
 * `wake()` ends the current sleep, and a wake that arrives while a tick is running is never lost: the next sleep
 * returns at once (the lost-wake bug the publisher and the flag feed each had once). `sleep()` is public so a
 * long tick (the publisher's leadership) can wait inside it on the same wake.
 */
export class WakeableLoop {
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeRequested = false;
  private endSleep: (() => void) | undefined;

  constructor(
    private readonly tick: () => Promise<TickResult>,
    private readonly options: WakeableLoopOptions = {},
  ) {}

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        let pause: number;
        try {
          pause = await this.tick();
        } catch (error) {
          this.options.onError?.(error);
          pause = this.options.errorDelayMs ?? 1_000;
        }
        if (pause > 0) await this.sleep(pause);
      }
    })();
  }

  /** Stops after the running tick (its sleeps end at once) and resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.running = false;
    this.endSleep?.();
    await this.loop;
    this.loop = undefined;
  }

  wake(): void {
    this.wakeRequested = true;
    this.endSleep?.();
  }

  /** Waits `ms`, or less: until a wake or a stop. Returns at once when a wake came since the last sleep. */
  sleep(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    if (this.wakeRequested) {
      this.wakeRequested = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeRequested = false;
        this.endSleep = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.endSleep = done;
    });
  }
}
