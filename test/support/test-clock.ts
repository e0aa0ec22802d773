import type { Clock } from '../../src/lib/clock';

/**
 * Real-speed time, shifted: set it to "Monday 12:00 UTC" or "two seconds before a slot" and it keeps ticking,
 * so BullMQ's real delays line up with the daemon's notion of now. `advance` jumps ahead.
 */
export class TestClock implements Clock {
  private offset = 0;

  constructor(at?: string | number) {
    if (at !== undefined) this.set(at);
  }

  now(): number {
    return Date.now() + this.offset;
  }

  set(at: string | number): void {
    this.offset = (typeof at === 'string' ? Date.parse(at) : at) - Date.now();
  }

  advance(ms: number): void {
    this.offset += ms;
  }

  /** Real epoch ms at which this clock will read `at`. */
  realTimeOf(at: string | number): number {
    return (typeof at === 'string' ? Date.parse(at) : at) - this.offset;
  }
}
