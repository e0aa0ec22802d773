/**
 * A burst of windows starting in the same second (first-fit puts an organisation's owners at Tuesday 09:00): their
 * last looks are spread ahead of the start, then the fire loop claims them together and each webhook goes once.
 */
import { addOwner, postFailing } from '../support/fixtures';
import { TestClock } from '../support/test-clock';
import { useDaemon } from '../support/use-daemon';
import { waitFor } from '../support/wait';
import { LOOK_SPREAD_MS } from '../../src/services/fire-service';

const START = Date.parse('2026-11-24T09:00:00.000Z');
const WINDOWS = 25;

describe('a burst of windows starting together', () => {
  const clock = new TestClock(START - 12_000);
  const arrivals: Array<{ hostId: number; webhookId: string }> = [];
  let server: import('node:http').Server;
  const t = useDaemon(async () => {
    const { createServer } = await import('node:http');
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        arrivals.push({ hostId: (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { host_id: number }).host_id, webhookId: String(req.headers['webhook-id']) });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as import('node:net').AddressInfo).port;
    return { label: 'fire-burst', clock, env: { RESOLUTION_WEBHOOK_URL: `http://127.0.0.1:${port}/resolution` } };
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it(`${WINDOWS} windows at 09:00: looks spread ${LOOK_SPREAD_MS} ms apart, claimed by the fire loop, each webhook sent once`, async () => {
    const hosts = Array.from({ length: WINDOWS }, (_, i) => 7100 + i);
    for (const id of hosts) {
      addOwner(t, `burst${id}@acme.com`, 'UTC');
      await postFailing(t, id, `burst${id}@acme.com`);
    }
    const booked = [];
    for (const id of hosts) booked.push(await t.daemon.waitForStatus(id, 'booked'));
    expect(booked.every((r) => r.start === '2026-11-24T09:00:00.000+00:00')).toBe(true);

    // Each window's job looks its own time ahead of the start: 1 s for the first booked at 09:00, 5 ms more per
    // window booked there before it.
    const fires = t.env.probe.queues.fires;
    const jobs = await Promise.all(booked.map((r) => fires.getJob(`fire-${r.id}-0-${START}`)));
    const ahead = jobs.map((j) => j?.data.lookAheadMs as number);
    expect(ahead.sort((a, b) => a - b)).toEqual(Array.from({ length: WINDOWS }, (_, rank) => 1000 + rank * LOOK_SPREAD_MS));

    for (const id of hosts) await t.daemon.waitForStatus(id, 'fired', 20_000);
    expect(arrivals.map((a) => a.hostId).sort()).toEqual(hosts);
    expect(new Set(arrivals.map((a) => a.webhookId)).size).toBe(WINDOWS);
    for (const id of hosts) {
      const [r] = await t.daemon.remediations({ host_id: id });
      expect(r.delivery).toMatchObject({ number: 1, attempts: 1, last_status: 200 });
    }
    // Fired by the loop: each job had looked and armed its window, and ends finding it claimed (no second send).
    await waitFor(async () => (await Promise.all(jobs.map((j) => j?.getState()))).every((s) => s === 'completed'), { timeoutMs: 10_000, what: 'the windows’ jobs done' });
    const done = await Promise.all(booked.map((r) => fires.getJob(`fire-${r.id}-0-${START}`)));
    expect(done.every((j) => j?.data.armed === true)).toBe(true);
    expect(arrivals).toHaveLength(WINDOWS);
  }, 60_000);
});
