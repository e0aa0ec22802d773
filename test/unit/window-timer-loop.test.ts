import { WindowTimerLoop } from '../../src/jobs/window-timer-loop';
import { createLogger } from '../../src/lib/logger';
import { LogCapture } from '../support/log-capture';
import { waitFor } from '../support/wait';

/** A scheduler whose timers come due as the test says: each call takes up to `limit` of `due`. */
class DueTimers {
  due = 0;
  calls: number[] = [];
  failNext = false;
  async promoteDueTimers(limit: number): Promise<number> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('Redis went away');
    }
    const taken = Math.min(limit, this.due);
    this.due -= taken;
    this.calls.push(taken);
    return taken;
  }
}

describe('window-timer loop', () => {
  it('takes a burst in as many rounds as it needs, then waits for the next interval; a failed round is logged and the loop goes on', async () => {
    const timers = new DueTimers();
    const logs = new LogCapture();
    const loop = new WindowTimerLoop(timers, createLogger('debug', logs), 20);
    timers.due = 1200;
    loop.start();
    await waitFor(() => timers.due === 0, { what: 'the burst taken' });
    // 500 + 500 + 200: the last round was not full, so the loop stopped asking until the next interval.
    expect(timers.calls.slice(0, 3)).toEqual([500, 500, 200]);
    timers.failNext = true;
    await waitFor(() => logs.atLeast(40).some((r) => /window timers: a round failed/.test(String(r.msg))), { what: 'the failure logged' });
    timers.due = 7;
    await waitFor(() => timers.due === 0, { what: 'timers taken after the failure' });
    await loop.stop();
    const after = timers.calls.length;
    timers.due = 5;
    await new Promise((r) => setTimeout(r, 80));
    expect(timers.calls.length).toBe(after);
  });
});
