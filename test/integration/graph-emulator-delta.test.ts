/** calendarView/delta through real HTTPS: the first round's paging, the deltaLink's changes, @removed, 410 resync. */
import { dt, startFixture, type Fixture } from './graph-emulator-fixture';

const WINDOW = 'startDateTime=2026-12-07T00:00:00Z&endDateTime=2026-12-14T00:00:00Z';

describe('Graph emulator: calendarView delta', () => {
  let f: Fixture;

  beforeAll(async () => {
    f = await startFixture();
    f.emulator.addMailbox('alice@contoso.com', { timeZone: 'Pacific Standard Time' });
  });
  afterAll(() => f.close());

  /** Follows nextLinks to the deltaLink; answers every item and the deltaLink. */
  async function round(first: string, headers: Record<string, string> = {}): Promise<{ items: any[]; deltaLink: string; pages: number }> {
    const items: any[] = [];
    let url: string | undefined = first;
    for (let pages = 1; url; pages++) {
      const res = await f.graph('GET', url, { headers });
      expect(res.status).toBe(200);
      items.push(...res.body.value);
      if (res.body['@odata.deltaLink']) {
        expect(res.body['@odata.nextLink']).toBeUndefined();
        return { items, deltaLink: res.body['@odata.deltaLink'], pages };
      }
      url = res.body['@odata.nextLink'];
      expect(url).toContain('$skiptoken=');
    }
    throw new Error('no deltaLink');
  }

  it('pages the first round, then answers only changes, deletions as @removed, and 410 for a lost token', async () => {
    const made = [];
    for (let d = 0; d < 5; d++) {
      const day = String(7 + d).padStart(2, '0');
      made.push(f.emulator.addBusy('alice@contoso.com', `2026-12-${day}T17:00:00Z`, `2026-12-${day}T18:00:00Z`, 'busy', `Day ${d}`));
    }
    f.emulator.addBusy('alice@contoso.com', '2026-12-20T17:00:00Z', '2026-12-20T18:00:00Z', 'busy', 'After the window');

    const first = await round(`users/alice@contoso.com/calendarView/delta?${WINDOW}`, { prefer: 'odata.maxpagesize=2' });
    expect(first.pages).toBe(3);
    expect(first.items.map((e) => e.subject)).toEqual(['Day 0', 'Day 1', 'Day 2', 'Day 3', 'Day 4']);
    expect(first.deltaLink).toContain('$deltatoken=');

    const unchanged = await round(first.deltaLink);
    expect(unchanged.items).toEqual([]);

    // The owner moves one event inside the window, deletes another, moves a third out of the window; the app adds one.
    f.emulator.updateEventAsOwner('alice@contoso.com', made[1].id, { start: dt('2026-12-08T19:00:00'), end: dt('2026-12-08T20:00:00') });
    f.emulator.deleteEventAsOwner('alice@contoso.com', made[2].id);
    f.emulator.updateEventAsOwner('alice@contoso.com', made[3].id, { start: dt('2026-12-30T19:00:00'), end: dt('2026-12-30T20:00:00') });
    const created = await f.graph('POST', 'users/alice@contoso.com/events', {
      body: { subject: 'Scheduled maintenance', start: dt('2026-12-08T09:00:00', 'Pacific Standard Time'), end: dt('2026-12-08T09:30:00', 'Pacific Standard Time') },
    });

    const changes = await round(unchanged.deltaLink);
    expect(changes.items).toEqual([
      expect.objectContaining({ id: made[1].id, subject: 'Day 1', start: { dateTime: '2026-12-08T19:00:00.0000000', timeZone: 'UTC' } }),
      { '@odata.type': '#microsoft.graph.event', id: made[2].id, '@removed': { reason: 'deleted' } },
      { '@odata.type': '#microsoft.graph.event', id: made[3].id, '@removed': { reason: 'deleted' } },
      expect.objectContaining({ id: created.body.id, subject: 'Scheduled maintenance' }),
    ]);
    const deletedRead = await f.graph('GET', `users/alice@contoso.com/events/${made[2].id}`);
    expect(deletedRead.status).toBe(404);

    f.emulator.expireDeltaTokens('alice@contoso.com');
    const lost = await f.graph('GET', changes.deltaLink);
    expect(lost.status).toBe(410);
    expect(lost.body.error.code).toBe('SyncStateNotFound');
    expect(lost.body.error.message).toMatch(/^The sync state generation is not found/);

    const again = await round(`users/alice@contoso.com/calendarView/delta?${WINDOW}`);
    expect(again.items.map((e) => e.subject)).toEqual(['Day 0', 'Scheduled maintenance', 'Day 1', 'Day 4']);
  });

  it('answers 410 SyncStateNotFound for an unknown token and refuses $filter on delta', async () => {
    const unknown = await f.graph('GET', 'users/alice@contoso.com/calendarView/delta?$deltatoken=not-a-token');
    expect(unknown).toMatchObject({ status: 410, body: { error: { code: 'SyncStateNotFound' } } });
    const filtered = await f.graph('GET', `users/alice@contoso.com/calendarView/delta?${WINDOW}&$filter=subject eq 'x'`);
    expect(filtered.status).toBe(400);
    const noWindow = await f.graph('GET', 'users/alice@contoso.com/calendarView/delta');
    expect(noWindow).toMatchObject({ status: 400, body: { error: { code: 'ErrorInvalidParameter' } } });
  });

  it('answers immutable ids in delta when the client prefers them', async () => {
    const first = await round(`users/alice@contoso.com/calendarView/delta?${WINDOW}`, { prefer: 'IdType="ImmutableId"' });
    expect(first.items.length).toBeGreaterThan(0);
    for (const item of first.items) expect(item.id).toBe(f.emulator.eventIds('alice@contoso.com', item.id).immutableId);
  });
});
