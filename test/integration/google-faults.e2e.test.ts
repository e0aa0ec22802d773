/**
 * Google faults end to end: a whole daemon (real Redis, BullMQ, googleapis) against the Calendar emulator failing
 * ~30 % of requests. Every owner ends with exactly one event and one booked remediation; an owner who left the
 * company is unassigned with the reason while the others of the same booking round are booked; a 401 costs one
 * token refresh.
 */
import { OWNED_BY_PROPERTY } from '../../src/domain/event-id';
import type { RemediationView } from '../../src/domain/remediation';
import { CalendarEmulator, type EmulatorCall, type EmulatorMethod } from '../../src/sandbox/calendar-emulator';
import { policyEvent } from '../support/daemon-client';
import { addOwner } from '../support/fixtures';
import { TestClock } from '../support/test-clock';
import { useDaemon } from '../support/use-daemon';
import { waitFor } from '../support/wait';

// Monday 23 November 2026, 12:00 UTC: "next Tuesday" is the 24th in every zone used here.
const MONDAY_NOON = '2026-11-23T12:00:00Z';
const DOMAIN = 'acme.com';
const OWNERS = 100;
const ZONES = ['Europe/Zurich', 'America/New_York', 'Asia/Kolkata', 'Australia/Adelaide', 'UTC'];
/** Calendar API methods (the token endpoint answers OAuth errors, which have no rate-limit reasons). */
const API_METHODS: EmulatorMethod[] = ['settings.get', 'freebusy.query', 'events.insert', 'events.get', 'events.list', 'events.watch', 'channels.stop'];

interface Outcome {
  owners: number;
  requests: number;
  faults: number;
  /** Failed requests by HTTP status. */
  failures: Record<number, number>;
  /** Remediations whose booking was deferred at least once (every attempt of a call failed) and redone later. */
  deferred: number;
  duplicates: number;
}

describe('Google faults (daemon + Redis + Calendar emulator injecting faults)', () => {
  const clock = new TestClock(MONDAY_NOON);
  // No auto-created users: an address the domain does not know is refused at the token endpoint (invalid_grant).
  const emulator = new CalendarEmulator({ now: () => clock.now(), domain: DOMAIN, autoCreateUsers: false });
  let nextHostId = 1000;
  // Calendar first (afterAll hooks run in order): its pushes (retried on the daemon's 503-while-closing) would hold
  // the HTTP server open. The daemon does not close an emulator it was given.
  afterAll(() => emulator.close());
  const t = useDaemon(async () => {
    await emulator.listen(0);
    return { label: 'google-faults', clock, emulator };
  });
  beforeEach(() => {
    clock.set(MONDAY_NOON);
    emulator.clearFaults();
  });

  function addOwners(label: string, count: number): string[] {
    return Array.from({ length: count }, (_, i) => {
      return addOwner(t, `${label}${i}@${DOMAIN}`, ZONES[i % ZONES.length]);
    });
  }

  async function post(owners: string[]): Promise<Map<string, number>> {
    const hosts = new Map(owners.map((email) => [email, nextHostId++]));
    const res = await t.daemon.post(
      '/v1/policy-events',
      owners.map((email) => policyEvent('policy_failing', { id: hosts.get(email) as number, emails: [email] })),
    );
    expect(res).toEqual({ status: 202, body: { accepted: owners.length } });
    return hosts;
  }

  async function remediationsOf(owners: string[]): Promise<RemediationView[]> {
    const wanted = new Set(owners);
    return (await t.daemon.remediations({ limit: 1000 })).filter((r) => r.email !== null && wanted.has(r.email));
  }

  /**
   * Waits until none of the owners' remediations is pending. A booking whose every retry failed is deferred by
   * the daemon (30 s doubling); the booking sweep would redo it: here time jumps past the deferral instead.
   */
  async function settle(owners: string[]): Promise<{ remediations: RemediationView[]; deferred: number }> {
    const deferred = new Set<string>();
    const remediations = await waitFor(
      async () => {
        const list = await remediationsOf(owners);
        const retrying = list.filter((r) => r.status === 'pending' && r.reason?.startsWith('booking failed, retrying'));
        if (list.length === owners.length && !list.some((r) => r.status === 'pending')) return list;
        if (retrying.length > 0) {
          for (const r of retrying) deferred.add(r.id);
          clock.advance(30 * 60_000);
          await t.env.probe.queues.requestBooking();
        }
        return null;
      },
      { timeoutMs: 90_000, intervalMs: 250, what: `${owners.length} owners to be booked` },
    );
    return { remediations, deferred: deferred.size };
  }

  /** Our events in each owner's calendar (cancelled ones too: a withdrawn duplicate would show up here). */
  function ourEvents(owner: string) {
    return emulator.events(owner, { includeCancelled: true }).filter((e) => e.extendedProperties?.private?.[OWNED_BY_PROPERTY]);
  }

  function callsOf(owners: string[]): EmulatorCall[] {
    const wanted = new Set(owners);
    return emulator.calls.filter((c) => c.owner !== undefined && wanted.has(c.owner));
  }

  /** Posts one failing host per owner and checks every owner ends with exactly one event and one booked remediation. */
  async function bookEveryOwnerOnce(label: string): Promise<Outcome> {
    const owners = addOwners(label, OWNERS);
    await post(owners);
    const { remediations, deferred } = await settle(owners);

    let duplicates = 0;
    for (const owner of owners) {
      const mine = remediations.filter((r) => r.email === owner);
      expect(mine).toHaveLength(1);
      expect(mine[0].status).toBe('booked');
      const events = ourEvents(owner);
      duplicates += Math.max(0, events.length - 1);
      expect(events.map((e) => [e.id, e.status])).toEqual([[mine[0].calendar_event_id, 'confirmed']]);
    }
    const failed = callsOf(owners).filter((c) => c.status >= 400);
    const failures: Record<number, number> = {};
    for (const c of failed) failures[c.status] = (failures[c.status] ?? 0) + 1;
    return { owners: owners.length, requests: callsOf(owners).length, faults: failed.length, failures, deferred, duplicates };
  }

  function report(name: string, o: Outcome): void {
    console.log(
      `${name}: ${o.owners} owners booked exactly once; ${o.requests} Google requests, ${o.faults} answered with an injected ` +
        `fault ${JSON.stringify(o.failures)} and retried; ${o.deferred} bookings deferred after all retries and redone; ` +
        `${o.duplicates} duplicate events`,
    );
  }

  it('books every owner exactly once with 30 % of requests failing with 503', async () => {
    emulator.injectFault({ status: 503, probability: 0.3 });
    const outcome = await bookEveryOwnerOnce('unavailable');
    report('503 on 30 % of requests', outcome);
    expect(outcome.duplicates).toBe(0);
    expect(outcome.faults).toBeGreaterThan(0.15 * outcome.requests);
  });

  it('books every owner exactly once with 30 % of requests failing with 429, 403 rate limits and 500', async () => {
    // Checked in this order, each with its own chance: about 1 - 0.91^4 = 31 % of API requests fail.
    emulator.injectFault({ status: 429, probability: 0.09 });
    emulator.injectFault({ status: 500, probability: 0.09 });
    for (const method of API_METHODS) {
      emulator.injectFault({ method, status: 403, reason: 'rateLimitExceeded', probability: 0.09 });
      emulator.injectFault({ method, status: 403, reason: 'userRateLimitExceeded', probability: 0.09 });
    }
    const outcome = await bookEveryOwnerOnce('limited');
    report('429 / 403 rateLimitExceeded / 403 userRateLimitExceeded / 500 on ~30 % of requests', outcome);
    expect(outcome.duplicates).toBe(0);
    for (const status of [403, 429, 500]) expect(outcome.failures[status]).toBeGreaterThan(0);
  });

  it('unassigns an owner who left the company (invalid_grant) with the reason; the rest of the round is booked', async () => {
    const colleagues = addOwners('colleague', 9);
    const leaver = `left.the.company@${DOMAIN}`; // never a user of the domain: the token endpoint refuses it
    const hosts = await post([colleagues[0], colleagues[1], leaver, ...colleagues.slice(2)]);
    const { remediations } = await settle(colleagues);

    // Unassigned, the owner's calendar no longer usable: the remediation names no owner (its host guards it), and
    // its history says whom it lost and why.
    const gone = await t.daemon.waitForStatus(hosts.get(leaver) as number, 'unassigned');
    expect(gone).toMatchObject({ host_id: hosts.get(leaver), status: 'unassigned', email: null, calendar_event_id: null });
    expect(gone.reason).toMatch(/invalid_grant/);
    const { history } = await t.daemon.remediation(gone.id);
    expect(history[history.length - 1]).toMatchObject({ type: 'remediation.unassigned', data: { previous_owner: leaver } });
    for (const owner of colleagues) {
      expect(remediations.find((r) => r.email === owner)?.status).toBe('booked');
      expect(ourEvents(owner)).toHaveLength(1);
    }
    // The colleagues were booked in one booking round: one freeBusy for all of them.
    expect(callsOf(colleagues).filter((c) => c.method === 'freebusy.query')).toHaveLength(1);
    // The refusal is final: asked once, not retried.
    expect(emulator.callCounts({ owner: leaver })).toEqual({ token: 1 });
  });

  it('refreshes the token once after a 401 and books', async () => {
    const [owner] = addOwners('expired', 1);
    emulator.injectFault({ method: 'events.insert', owner, status: 401, times: 1 });
    await post([owner]);
    const { remediations } = await settle([owner]);
    expect(remediations[0].status).toBe('booked');
    expect(ourEvents(owner)).toHaveLength(1);
    const calls = callsOf([owner]);
    expect(calls.filter((c) => c.method === 'events.insert').map((c) => c.status)).toEqual([401, 200]);
    expect(calls.filter((c) => c.method === 'token').map((c) => c.status)).toEqual([200, 200]);
  });
});
