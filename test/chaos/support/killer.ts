import type { DaemonProcess } from '../../support/daemon-process';

export interface KillerOptions {
  /** Pause before each kill, uniformly random in [min, max] ms (counted from the victim being ready again). */
  intervalMs: [number, number];
  /** Real epoch ms of moments that must see a kill shortly after (e.g. when windows start firing). */
  aimAt?: number[];
}

/**
 * SIGKILLs one daemon again and again and restarts it each time, until stopped. A kill lands "at any moment":
 * whatever the daemon holds (jobs, locks, half-written state) is abandoned.
 */
export class Killer {
  kills = 0;
  killsWhileStarting = 0;
  private stopping = false;
  private done: Promise<void> | null = null;
  private readonly aims: number[];

  constructor(
    private readonly victim: DaemonProcess,
    private readonly opts: KillerOptions,
  ) {
    this.aims = [...(opts.aimAt ?? [])].sort((a, b) => a - b);
  }

  start(): this {
    this.done = this.loop();
    return this;
  }

  /** Stops after the current round; the victim is left running. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.done;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const [min, max] = this.opts.intervalMs;
      let delay = min + Math.random() * (max - min);
      const aim = this.aims[0];
      if (aim !== undefined && aim < Date.now() + delay) {
        delay = Math.max(0, aim - Date.now());
        this.aims.shift();
      }
      await this.sleepUnlessStopped(delay);
      if (this.stopping) break;
      await this.victim.kill();
      this.kills++;
      if (this.kills % 4 === 0) {
        // Every fourth restart is killed again while it is still starting (connecting, registering schedulers).
        void this.victim.start().catch(() => undefined);
        await this.sleepUnlessStopped(300 + Math.random() * 1200);
        if (this.victim.alive) {
          await this.victim.kill();
          this.kills++;
          this.killsWhileStarting++;
        }
      }
      await this.startUntilReady();
    }
  }

  private async startUntilReady(): Promise<void> {
    for (;;) {
      try {
        if (!this.victim.alive) await this.victim.start();
        return;
      } catch {
        // the half-started process of the kill above exited meanwhile: start it again
      }
    }
  }

  private async sleepUnlessStopped(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (!this.stopping && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
  }
}
