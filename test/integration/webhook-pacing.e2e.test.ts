/**
 * WEBHOOK_MAX_PER_SECOND and WEBHOOK_CONCURRENCY: a burst of windows starting in the same second reaches a slow,
 * rate-limited receiver evenly spaced and never more than N at a time — every window delivered, lateness reported.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { addOwner, postFailing } from '../support/fixtures';
import { TestClock } from '../support/test-clock';
import { useDaemon } from '../support/use-daemon';
import { waitFor } from '../support/wait';

const START = Date.parse('2026-11-24T09:00:00.000Z');
const RATE = 4;
const WINDOWS = 10;

/** A receiver that takes 300 ms to answer, answers 429 beyond RATE requests in any second, and records arrivals. */
class SlowCappedReceiver {
  readonly arrivals: Array<{ at: number; hostId: number; status: number }> = [];
  inFlight = 0;
  mostInFlight = 0;
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const at = Date.now();
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { host_id: number };
        // 50 ms of slack: the daemon's slots are spaced at 1/RATE in Redis time, arrivals shift a little in transit.
        const lastSecond = this.arrivals.filter((a) => a.status === 200 && a.at > at - 950).length;
        const status = lastSecond >= RATE ? 429 : 200;
        this.arrivals.push({ at, hostId: body.host_id, status });
        this.inFlight++;
        this.mostInFlight = Math.max(this.mostInFlight, this.inFlight);
        setTimeout(() => {
          this.inFlight--;
          res.writeHead(status, status === 429 ? { 'retry-after': '1' } : {}).end();
        }, 300);
      });
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}/resolution`;
  }

  close(): Promise<void> {
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

describe('resolution webhooks paced for a rate-limited receiver', () => {
  // Booked a few seconds before the start (fire jobs are delayed in real time from the booking).
  const clock = new TestClock(START - 6000);
  const receiver = new SlowCappedReceiver();
  const t = useDaemon(async () => ({
    label: 'webhook-pacing',
    clock,
    env: { RESOLUTION_WEBHOOK_URL: await receiver.start(), WEBHOOK_MAX_PER_SECOND: String(RATE), WEBHOOK_CONCURRENCY: '2' },
  }));
  afterAll(() => receiver.close());

  it(`${WINDOWS} windows starting at once: every one delivered at ≤ ${RATE}/s, ≤ 2 in flight, none refused, lateness in the log and metrics`, async () => {
    const hosts = Array.from({ length: WINDOWS }, (_, i) => 6100 + i);
    clock.set(START - 6000);
    for (const id of hosts) {
      addOwner(t, `paced${id}@acme.com`, 'UTC');
      await postFailing(t, id, `paced${id}@acme.com`);
    }
    for (const id of hosts) expect((await t.daemon.waitForStatus(id, 'booked')).start).toBe('2026-11-24T09:00:00.000+00:00');
    for (const id of hosts) await t.daemon.waitForStatus(id, 'fired', 30_000);

    // Every window delivered once, and the receiver never had to refuse one.
    expect(receiver.arrivals.map((a) => a.hostId).sort()).toEqual(hosts);
    expect(receiver.arrivals.every((a) => a.status === 200)).toBe(true);
    // Evenly spaced: the burst took at least (N − 1) / rate, with never more than 2 requests open at the receiver.
    const times = receiver.arrivals.map((a) => a.at);
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(((WINDOWS - 1) / RATE) * 1000 - 100);
    expect(receiver.mostInFlight).toBeLessThanOrEqual(2);
    // Each attempt counted once (the wait for a send slot is not an attempt).
    for (const id of hosts) expect((await t.daemon.remediations({ host_id: id }))[0].delivery?.attempts).toBe(1);
    // The lateness of each delivery is measured.
    const metrics = await waitFor(async () => {
      const text = await (await fetch(`${t.env.url}/metrics`)).text();
      return /mw_resolution_delivery_lateness_seconds_count(\{[^}]*\})? 10\b/.test(text) ? text : null;
    }, { what: 'the lateness histogram' });
    expect(metrics).toMatch(/mw_resolution_delivery_lateness_seconds_bucket\{le="1"\}/);
  }, 60_000);
});
