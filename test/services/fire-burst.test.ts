import pino from 'pino';
import { fakeWorld, policyEvent, type FakeWorld } from '../support/fake-services';
import { LogCapture } from '../support/log-capture';

const MONDAY_NOON = '2026-11-23T12:00:00Z';
const NINE = '2026-11-24T09:00:00Z';
const owner = (i: number) => `owner${i}@acme.com`;

/** n owners, one host each (hosts 100…), all booked at Tuesday 09:00 UTC. */
async function burst(w: FakeWorld, n: number): Promise<string[]> {
  for (let i = 0; i < n; i++) {
    w.calendar.addOwner(owner(i), { timeZone: 'UTC' });
    await w.ingest(policyEvent('policy_failing', 100 + i, owner(i)));
  }
  await w.scheduler.runBookings();
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await w.latest(100 + i);
    expect(r).toMatchObject({ status: 'booked' });
    expect(Date.parse(r.start as string)).toBe(Date.parse(NINE));
    ids.push(r.id);
  }
  return ids;
}

/** The fire jobs' last looks (all before the start), then the start. */
async function looksThenStart(w: FakeWorld): Promise<void> {
  w.clock.set('2026-11-24T08:59:59Z');
  await w.scheduler.runFires();
  w.clock.set(NINE);
}

describe('services on in-memory ports: a burst of windows starting together', () => {
  it('claims them together after their last looks: one transaction for the starts, one for the deliveries, each sent once', async () => {
    const w = fakeWorld({ now: MONDAY_NOON });
    const ids = await burst(w, 6);
    await looksThenStart(w);
    // Looked and armed: nothing fired before the start.
    expect(w.sender.sent).toHaveLength(0);
    const commitsBefore = w.store.commits;
    const commitsBeforeAt = w.journal.entries.length;

    await w.scheduler.runFires();

    expect(w.sender.sent).toHaveLength(6);
    expect(new Set(w.sender.sent.map((m) => m.id)).size).toBe(6);
    // The six starts in one commit, the six deliveries in another.
    expect(w.store.commits - commitsBefore).toBe(2);
    for (const id of ids) {
      expect(await w.store.get(id)).toMatchObject({ status: 'fired', delivery: { number: 1, attempts: 1, lastStatus: 200 } });
      expect((await w.history(id)).map((e) => e.type).slice(-2)).toEqual(['window.started', 'delivery.succeeded']);
    }
    // The channel round that stops their owners' channels is asked for after the deliveries are stored, not while
    // the webhooks are being sent.
    const deliveriesStored = w.journal.indexOf((e) => e.kind === 'commit' && e.events.includes('delivery.succeeded'));
    const channelRound = w.journal.entries.findIndex((e, i) => i > commitsBeforeAt && e.kind === 'job' && e.method === 'requestChannelMaintenance');
    expect(deliveriesStored).toBeGreaterThan(-1);
    expect(channelRound).toBeGreaterThan(deliveriesStored);
    // Their jobs come back after the start and find nothing left to do.
    w.clock.set('2026-11-24T09:00:05Z');
    await w.scheduler.runFires();
    expect(w.sender.sent).toHaveLength(6);
    expect(w.scheduler.fires.size).toBe(0);
  });

  it('logs each start once, as its event (lateness and webhook-id in the line), and each delivery', async () => {
    const logs = new LogCapture();
    const w = fakeWorld({ now: MONDAY_NOON, logger: pino({ level: 'info' }, logs) });
    const ids = await burst(w, 3);
    await looksThenStart(w);
    w.clock.set('2026-11-24T09:00:00.040Z');

    await w.scheduler.runFires();

    const lines = logs.records();
    for (const id of ids) {
      const r = await w.store.get(id);
      const started = lines.filter((l) => l.remediation === id && l.event === 'window.started');
      expect(started).toEqual([expect.objectContaining({ msg: 'lifecycle: window.started', late_ms: 40, webhook_id: r?.delivery?.webhookId, owner: r?.email })]);
      expect(lines.filter((l) => l.remediation === id && l.msg === 'resolution webhook delivered')).toEqual([expect.objectContaining({ lateMs: 40, status: 200 })]);
    }
    // No second line per start: the event's line is the start's.
    expect(lines.filter((l) => /window fired/.test(String(l.msg)))).toEqual([]);
  });

  it('claims windows just ahead of their start, stored as started at it, and sends nothing before it', async () => {
    const w = fakeWorld({ now: MONDAY_NOON });
    const ids = await burst(w, 3);
    await looksThenStart(w);
    w.clock.set('2026-11-24T08:59:59.100Z');
    // 900 ms before the start: not yet (CLAIM_AHEAD_MS is 800).
    expect((await w.services.fires.claimArmed()).taken).toBe(0);

    w.clock.set('2026-11-24T08:59:59.400Z');
    const round = await w.services.fires.claimArmed();
    try {
      expect(round.taken).toBe(3);
      for (const id of ids) {
        const r = await w.store.get(id);
        expect(r).toMatchObject({ status: 'firing', firedAt: '2026-11-24T09:00:00.000Z', delivery: { attempts: 1 } });
        const started = (await w.history(id)).find((e) => e.type === 'window.started');
        // Stored (occurred) at the claim, as of the start.
        expect(started).toMatchObject({ occurred_at: '2026-11-24T08:59:59.400Z', data: { start: r?.start, late_ms: 0 } });
      }
      // Held until the clock reaches the start (the clock here moves only when the test moves it).
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(w.sender.sent).toHaveLength(0);
    } finally {
      w.clock.set(NINE);
      await round.sending;
    }
    expect(w.sender.sent).toHaveLength(3);
    for (const m of w.sender.sent) expect(JSON.parse(m.body)).toMatchObject({ timestamp: '2026-11-24T09:00:00.000Z' });
    for (const id of ids) expect(await w.store.get(id)).toMatchObject({ status: 'fired' });
  });

  it('does not fire a window the owner moved after its last look; the moved window fires at its new start', async () => {
    const w = fakeWorld({ now: MONDAY_NOON });
    const [a, b] = await burst(w, 2);
    await looksThenStart(w);
    const moved = await w.store.get(a);
    w.calendar.moveEventAsOwner(owner(0), moved?.calendarEventId as string, '2026-11-24T11:00:00Z', '2026-11-24T11:30:00Z');
    await w.services.watch.syncOwner(owner(0));
    expect(await w.store.get(a)).toMatchObject({ status: 'booked', start: expect.stringContaining('T11:00:00') });
    w.clock.set(NINE);

    await w.scheduler.runFires();

    expect(w.sender.sent).toHaveLength(1);
    expect(await w.store.get(b)).toMatchObject({ status: 'fired' });
    expect(await w.store.get(a)).toMatchObject({ status: 'booked' });
    w.clock.set('2026-11-24T11:00:00Z');
    await w.scheduler.runFires();
    expect(await w.store.get(a)).toMatchObject({ status: 'fired', delivery: { attempts: 1 } });
    expect(w.sender.sent).toHaveLength(2);
  });

  it('an armed window no fire loop took is fired by its own job after the start, late rather than never', async () => {
    const w = fakeWorld({ now: MONDAY_NOON });
    const [id] = await burst(w, 1);
    await looksThenStart(w);
    // A loop took it and died before claiming it: it is no longer armed.
    expect(await w.store.takeArmedWindows(Date.parse(NINE), 10)).toHaveLength(1);
    await w.scheduler.runFires();
    expect(w.sender.sent).toHaveLength(0);

    w.clock.set('2026-11-24T09:00:02Z');
    await w.scheduler.runFires();

    expect(w.sender.sent).toHaveLength(1);
    expect(await w.store.get(id)).toMatchObject({ status: 'fired', delivery: { attempts: 1 } });
  });

  it('a refused first attempt goes on as a delivery job; one cut short by a crash is delivered again by the sweep', async () => {
    const w = fakeWorld({ now: MONDAY_NOON });
    const [crashed, refused] = await burst(w, 2);
    await looksThenStart(w);
    w.sender.answerNext({ kind: 'answered', status: 503 });
    w.sender.crashNext();

    await w.scheduler.runFires();

    // Sent in claim order: the first never came back, the second got a 503.
    expect(w.sender.sent).toHaveLength(2);
    expect(await w.store.get(refused)).toMatchObject({ status: 'firing', delivery: { attempts: 1, lastStatus: 503 } });
    expect(w.scheduler.deliveries.has(`deliver-${refused}-1`)).toBe(true);
    expect(await w.store.get(crashed)).toMatchObject({ status: 'firing', delivery: { attempts: 1 } });
    expect((await w.store.get(crashed))?.delivery?.lastStatus).toBeUndefined();

    // The retry is due after its backoff (and the windows' jobs find them claimed)...
    w.clock.set('2026-11-24T09:00:05Z');
    await w.scheduler.runFires();
    expect(await w.store.get(refused)).toMatchObject({ status: 'fired', delivery: { attempts: 2, lastStatus: 200 } });
    expect(await w.store.get(crashed)).toMatchObject({ status: 'firing', delivery: { attempts: 1 } });
    // ...the one cut short is swept once it is old enough to be stranded, and delivered (not given up).
    expect(await w.services.fires.recoverStranded()).toBe(0);
    w.clock.set('2026-11-24T09:00:31Z');
    expect(await w.services.fires.recoverStranded()).toBe(1);
    await w.scheduler.runFires();
    expect(await w.store.get(crashed)).toMatchObject({ status: 'fired', delivery: { attempts: 2, lastStatus: 200 } });
    const ids = w.sender.sent.map((m) => m.id);
    expect(ids).toHaveLength(4);
    expect(new Set(ids).size).toBe(2);
  });
});
