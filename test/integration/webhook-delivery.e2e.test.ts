import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { DaemonClient, TEST_TOKENS } from '../support/daemon-client';
import { addOwner, bookHost, latest, postFailing, webhooksFor, withTokens } from '../support/fixtures';
import { ScriptedReceiver, type ReceivedRequest } from '../support/scripted-receiver';
import { fireJobsEnded } from '../support/settled';
import { startTestEnv, type TestEnv } from '../support/test-app';
import { TestClock } from '../support/test-clock';
import { useDaemon, type DaemonHandle } from '../support/use-daemon';
import { waitFor } from '../support/wait';

// Owners in UTC, Monday clock → the Tuesday 09:00 slot; the clock is set three seconds before it to fire quickly.
const START = '2026-11-24T09:00:00.000+00:00';
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

/** Every request is signed over exactly its bytes (verified by the standardwebhooks package). */
function expectSigned(req: ReceivedRequest): void {
  expect(new Webhook(SECRET).verify(req.raw, req.headers as Record<string, string>)).toEqual(JSON.parse(req.rawBody));
}

function gaps(requests: ReceivedRequest[]): number[] {
  return requests.slice(1).map((r, i) => r.at - requests[i].at);
}

/** Books a window for a new UTC owner starting three seconds from now; resolves once it is booked. */
async function bookWindowNow(t: DaemonHandle, clock: TestClock, hostId: number): Promise<string> {
  const owner = `owner${hostId}@acme.com`;
  clock.set(Date.parse(START) - 3000);
  const booked = await bookHost(t, hostId, owner);
  expect(booked.start).toBe(START);
  return owner;
}

const ADMIN = { authorization: `Bearer ${TEST_TOKENS.admin}` };

describe('resolution webhook delivery: signed, retried within the budget, stopped on 410/4xx', () => {
  const clock = new TestClock(Date.parse(START) - 2000);
  const receiver = new ScriptedReceiver();
  const t = useDaemon(async () => ({
    label: 'webhook',
    clock,
    env: { RESOLUTION_WEBHOOK_URL: `${(await receiver.start()).url}/resolution`, WEBHOOK_SECRET: SECRET, WEBHOOK_TIMEOUT_SECONDS: '1' },
  }));
  afterAll(() => receiver.close());

  it('503 three times, then 200: delivered with the same webhook-id and bytes, status fired', async () => {
    receiver.answer({ status: 503 }, { status: 503 }, { status: 503 });
    await bookWindowNow(t, clock, 501);
    const fired = await t.daemon.waitForStatus(501, 'fired', 20_000);
    const requests = receiver.forHost(501);
    expect(requests.map((r) => r.answer)).toEqual([{ status: 503 }, { status: 503 }, { status: 503 }, { status: 200 }]);
    expect(new Set(requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([fired.delivery?.webhook_id]));
    expect(new Set(requests.map((r) => r.rawBody)).size).toBe(1);
    requests.forEach(expectSigned);
    expect(fired.delivery).toMatchObject({ number: 1, attempts: 4, last_status: 200, last_error: null });
    expect(fired.delivery?.delivered_at).not.toBeNull();
    // Full jitter: attempt n waits a random time up to 1 s · 2^(n-1).
    gaps(requests).forEach((gap, i) => expect(gap).toBeLessThan(1000 * 2 ** i + 500));
    console.log(`503×3 then 200: ${requests.length} requests, webhook-id ${fired.delivery?.webhook_id}, gaps ${gaps(requests).join(', ')} ms`);
  });

  it('honours Retry-After, and hands the owner over to their next host while the delivery is retried', async () => {
    receiver.answer({ status: 429, headers: { 'retry-after': '3' } });
    const owner = await bookWindowNow(t, clock, 511);
    await postFailing(t, 512, owner);
    await t.daemon.waitForStatus(512, 'queued');
    await waitFor(() => receiver.forHost(511).length === 1, { timeoutMs: 8000, what: 'first attempt' });
    // The window has passed: the next host is booked while the first delivery waits for its retry.
    const next = await t.daemon.waitForStatus(512, 'booked');
    expect(next.start).toBe('2026-11-24T09:30:00.000+00:00');
    const waiting = await latest(t, 511);
    expect(waiting.status).toBe('firing');
    expect(waiting.delivery).toMatchObject({ attempts: 1, last_status: 429, last_error: 'receiver answered 429' });
    expect(waiting.delivery?.next_attempt_at).not.toBeNull();
    await t.daemon.waitForStatus(511, 'fired', 10_000);
    const requests = receiver.forHost(511);
    expect(requests).toHaveLength(2);
    const [gap] = gaps(requests);
    expect(gap).toBeGreaterThanOrEqual(3000);
    expect(gap).toBeLessThan(4500);
    expect(requests[1].headers['webhook-id']).toBe(requests[0].headers['webhook-id']);
    requests.forEach(expectSigned);
    console.log(`Retry-After: 3 → next attempt after ${gap} ms, webhook-id ${requests[0].headers['webhook-id']}`);
  });

  it('a policy failing while the window is firing starts the host’s next remediation, not lost in the fired one', async () => {
    receiver.answer({ status: 429, headers: { 'retry-after': '3' } });
    await bookWindowNow(t, clock, 581);
    await waitFor(() => receiver.forHost(581).length === 1, { timeoutMs: 8000, what: 'first attempt' });
    expect((await latest(t, 581)).status).toBe('firing');

    await postFailing(t, 581, 'owner581@acme.com', { id: 8, name: 'Firewall' });
    const next = await t.daemon.waitForStatus(581, 'booked');
    expect(next.id).toBe('h581-2');
    expect(next.policies).toEqual([{ id: 8, name: 'Firewall' }]);
    expect(next.start).toBe('2026-11-24T09:30:00.000+00:00');

    await waitFor(() => receiver.forHost(581).length === 2, { timeoutMs: 8000, what: 'retry' });
    const [fired] = (await t.daemon.remediations({ host_id: 581 })).filter((r) => r.id !== 'h581-2');
    await waitFor(async () => (await t.daemon.remediations({ host_id: 581, status: 'fired' })).length === 1, { what: 'fired' });
    // The fired window's payload stays what it was at its start.
    expect(JSON.parse(receiver.forHost(581)[1].rawBody).failing_policies).toEqual([{ id: 7, name: 'Policy 7' }]);
    expect(fired.id).toBe('h581-1');
  });

  it('a delivery whose job is gone (failed for good while Redis was away, removed by hand) is swept to delivery_failed', async () => {
    // One 503 that asks for 30 s: the job waits in `delayed`, where it can be taken away.
    receiver.answer({ status: 503, headers: { 'retry-after': '30' } });
    await bookWindowNow(t, clock, 591);
    await waitFor(() => receiver.forHost(591).length === 1, { timeoutMs: 8000, what: 'first attempt' });
    const firing = await latest(t, 591);
    expect(firing.status).toBe('firing');
    // Nothing to sweep while the job waits for its retry.
    expect(await t.env.app.services.fires.recoverStranded()).toBe(0);

    // The window was claimed with the others starting then (the fire loop): its retry waits in a delivery job. Both
    // of delivery 1's jobs go (the window's own job only comes back after the start to find it claimed).
    // (The job is added once the 503 is recorded, a moment after the receiver answered: looked up until it is there.)
    const fires = t.env.probe.queues.fires;
    const retryId = `deliver-${firing.id}-1`;
    await waitFor(async () => (await (await fires.getJob(retryId))?.getState()) === 'delayed', { what: 'job waiting for its retry' });
    await (await fires.getJob(retryId))?.remove();
    await (await fires.getJob(`fire-${firing.id}-0-${Date.parse(START)}`))?.remove();
    // A remediation that started moments ago may still be getting its job: the sweep waits 30 s before judging.
    expect(await t.env.app.services.fires.recoverStranded()).toBe(0);
    clock.advance(31_000);
    expect(await t.env.app.services.fires.recoverStranded()).toBe(1);
    const swept = await latest(t, 591);
    expect(swept.status).toBe('delivery_failed');
    expect(swept.reason).toBe('resolution webhook not delivered: its delivery job ended without finishing it (see the daemon logs)');
    expect(await t.env.app.services.fires.recoverStranded()).toBe(0);
    expect(receiver.forHost(591)).toHaveLength(1);
  });

  it('410 Gone: delivery_failed at once, never retried', async () => {
    receiver.answer({ status: 410 });
    await bookWindowNow(t, clock, 521);
    const failed = await t.daemon.waitForStatus(521, 'delivery_failed', 8000);
    expect(failed.reason).toBe('resolution webhook not delivered: receiver answered 410 (the receiver is gone)');
    expect(failed.delivery).toMatchObject({ attempts: 1, last_status: 410, next_attempt_at: null });
    // The fire job carrying the delivery has ended: no attempt is left to come.
    await fireJobsEnded(t.env, `fire-${failed.id}-`);
    expect(receiver.forHost(521)).toHaveLength(1);
  });

  it('400: delivery_failed without a retry', async () => {
    receiver.answer({ status: 400 });
    await bookWindowNow(t, clock, 531);
    const failed = await t.daemon.waitForStatus(531, 'delivery_failed', 8000);
    expect(failed.delivery).toMatchObject({ attempts: 1, last_status: 400, last_error: 'receiver answered 400 (not retried)' });
    // The fire job carrying the delivery has ended: no attempt is left to come.
    await fireJobsEnded(t.env, `fire-${failed.id}-`);
    expect(receiver.forHost(531)).toHaveLength(1);
  });

  it('a receiver that never answers times out after WEBHOOK_TIMEOUT_SECONDS and is retried', async () => {
    receiver.answer({ hang: true }, { hang: true });
    await bookWindowNow(t, clock, 541);
    const fired = await t.daemon.waitForStatus(541, 'fired', 15_000);
    const requests = receiver.forHost(541);
    expect(requests.map((r) => 'hang' in r.answer)).toEqual([true, true, false]);
    expect(new Set(requests.map((r) => r.headers['webhook-id'])).size).toBe(1);
    gaps(requests).forEach((gap) => expect(gap).toBeGreaterThanOrEqual(1000));
    expect(fired.delivery).toMatchObject({ attempts: 3, last_status: 200 });
    console.log(`timeouts: ${requests.length} requests, gaps ${gaps(requests).join(', ')} ms (1 s timeout + jitter)`);
  });
});

describe('receiver dead past the retry budget, then redelivered', () => {
  const INGEST_TOKEN = randomBytes(16).toString('hex');
  const clock = new TestClock(Date.parse(START) - 2000);
  let receiver: ScriptedReceiver;
  let port: number;
  const t = withTokens(
    useDaemon(async () => {
      // A port nothing listens on (yet): connection refused until the receiver is started there.
      const probe = await new ScriptedReceiver().start();
      port = Number(new URL(probe.url).port);
      await probe.close();
      return {
        label: 'webhook-dead',
        clock,
        env: { RESOLUTION_WEBHOOK_URL: `http://127.0.0.1:${port}/resolution`, WEBHOOK_SECRET: SECRET, WEBHOOK_RETRY_BUDGET_SECONDS: '3', INGEST_TOKEN },
      };
    }),
    { ingest: INGEST_TOKEN },
  );
  afterAll(async () => {
    await receiver?.close();
  });

  it('ends delivery_failed with the last error in the API; redeliver sends the same bytes under a new webhook-id', async () => {
    await bookWindowNow(t, clock, 551);
    const booked = await latest(t, 551);
    expect((await t.daemon.post(`/v1/remediations/${booked.id}/redeliver`, {})).status).toBe(409);
    expect((await t.daemon.post('/v1/remediations/h551-99/redeliver', {})).status).toBe(404);

    const failed = await t.daemon.waitForStatus(551, 'delivery_failed', 15_000);
    expect(failed.delivery?.last_error).toMatch(/^receiver unreachable: .*ECONNREFUSED.*\(retry budget spent after \d+ attempts?\)$/);
    expect(failed.reason).toBe(`resolution webhook not delivered: ${failed.delivery?.last_error}`);
    const spentMs = Date.parse(failed.delivery?.failed_at ?? '') - Date.parse(failed.delivery?.created_at ?? '');
    expect(spentMs).toBeLessThanOrEqual(3500);
    console.log(`dead receiver, 3 s budget: ${failed.delivery?.attempts} attempts over ${spentMs} ms; last_error: ${failed.delivery?.last_error}`);

    const firstId = failed.delivery?.webhook_id ?? '';
    expect(firstId).toBe(`msg_${failed.id}_${Date.parse(failed.created_at).toString(36)}_b0_d1`);
    const idOf = (n: number) => firstId.replace(/_d1$/, `_d${n}`);
    receiver = await new ScriptedReceiver().start(port);
    // Redelivery triggers the fix: an admin action, it needs the admin token (the producers' one is not enough).
    expect((await new DaemonClient(t.env.url, {}).post(`/v1/remediations/${failed.id}/redeliver`, {})).status).toBe(401);
    expect((await new DaemonClient(t.env.url, { admin: INGEST_TOKEN }).post(`/v1/remediations/${failed.id}/redeliver`, {})).status).toBe(401);
    expect((await new DaemonClient(t.env.url, { ingest: INGEST_TOKEN, admin: 'x'.repeat(32) }).post(`/v1/remediations/${failed.id}/redeliver`, {})).status).toBe(401);
    const accepted = await t.daemon.post(`/v1/remediations/${failed.id}/redeliver`, {});
    expect(accepted).toEqual({ status: 202, body: { remediation: failed.id, delivery: 2, webhook_id: idOf(2) } });
    const fired = await t.daemon.waitForStatus(551, 'fired', 8000);
    expect(fired.delivery).toMatchObject({ number: 2, webhook_id: idOf(2), attempts: 1, last_status: 200 });
    const [first] = receiver.forHost(551);
    expectSigned(first);
    expect(first.headers['webhook-id']).toBe(idOf(2));
    // The payload was fixed when the window fired, not when it was redelivered.
    const body = JSON.parse(first.rawBody) as { timestamp: string };
    expect(Date.parse(body.timestamp)).toBeLessThan(Date.parse(failed.delivery?.failed_at ?? ''));

    // Once more: the same bytes again, under the next webhook-id.
    expect((await t.daemon.post(`/v1/remediations/${failed.id}/redeliver`, {})).status).toBe(202);
    await waitFor(() => receiver.forHost(551).length === 2, { what: 'second redelivery' });
    await t.daemon.waitForStatus(551, 'fired');
    const [, second] = receiver.forHost(551);
    expect(second.raw.equals(first.raw)).toBe(true);
    expect(second.headers['webhook-id']).toBe(idOf(3));
    expectSigned(second);
    console.log(`redelivered: ${first.headers['webhook-id']}, ${second.headers['webhook-id']}, identical ${first.raw.length}-byte bodies`);
  });
});

describe('a redelivery is carried by its job alone', () => {
  const clock = new TestClock(Date.parse(START) - 2000);
  const receiver = new ScriptedReceiver();
  // Two daemons on one Redis prefix: the second is started in the test, and stopped first (afterAll hooks run in
  // order); the first was stopped in the test (stopping again waits for that stop), its environment goes after.
  let second: TestEnv | undefined;
  afterAll(async () => {
    await second?.stop();
  });
  const t = useDaemon(async () => ({ label: 'webhook-redeliver', clock, env: { RESOLUTION_WEBHOOK_URL: `${(await receiver.start()).url}/resolution` } }));
  afterAll(() => receiver.close());

  it('accepted by a daemon whose workers never ran: nothing else changes until a daemon takes up the job', async () => {
    receiver.answer({ status: 410 });
    const first = t.env;
    await bookWindowNow(t, clock, 561);
    const failed = await t.daemon.waitForStatus(561, 'delivery_failed', 8000);
    await first.app.stop();

    // A second daemon on the same Redis prefix, listening nowhere and working on nothing: it accepts the request.
    second = await startTestEnv({
      label: 'webhook-redeliver-b',
      clock,
      emulator: first.emulator,
      key: first.key,
      start: false,
      env: { REDIS_KEY_PREFIX: first.prefix, RESOLUTION_WEBHOOK_URL: `${receiver.url}/resolution` },
    });
    const app = second.app;
    const accepted = await app.http.inject({ method: 'POST', url: `/v1/remediations/${failed.id}/redeliver`, payload: {}, headers: ADMIN });
    expect(accepted.statusCode).toBe(202);
    const idOf2 = (failed.delivery?.webhook_id ?? '').replace(/_d1$/, '_d2');
    expect(accepted.json()).toEqual({ remediation: failed.id, delivery: 2, webhook_id: idOf2 });
    // A repeated request before the job has run is the same redelivery.
    expect((await app.http.inject({ method: 'POST', url: `/v1/remediations/${failed.id}/redeliver`, payload: {}, headers: ADMIN })).json()).toEqual(accepted.json());

    // Had the daemon died here, the job is all there is, and all that is needed.
    const unchanged = await second.probe.store.get(failed.id);
    expect(unchanged).toMatchObject({ status: 'delivery_failed', delivery: { number: 1, webhookId: failed.delivery?.webhook_id } });
    const jobs = await second.probe.queues.fires.getJobs(['waiting', 'delayed', 'active', 'completed']);
    expect(jobs.filter((j) => j.name === 'deliver').map((j) => j.id)).toEqual([`deliver-${failed.id}-2`]);

    await app.start();
    const fired = await second.client.waitForStatus(561, 'fired', 8000);
    expect(fired.delivery).toMatchObject({ number: 2, webhook_id: idOf2, attempts: 1, last_status: 200 });
    const requests = receiver.forHost(561);
    expect(requests.map((r) => r.headers['webhook-id'])).toEqual([failed.delivery?.webhook_id, idOf2]);
    expect(requests[1].raw.equals(requests[0].raw)).toBe(true);
  });
});

describe('a window whose job fails for good', () => {
  const clock = new TestClock('2026-11-23T12:00:00Z');
  const t = useDaemon({ label: 'webhook-abandon', clock });

  it('ends delivery_failed with its payload fixed and the owner handed over, and can be redelivered', async () => {
    const owner = addOwner(t, 'abandoned@acme.com');
    await postFailing(t, 571, owner);
    await postFailing(t, 572, owner);
    const booked = await t.daemon.waitForStatus(571, 'booked');
    await t.daemon.waitForStatus(572, 'queued');

    // What the worker does when the fire job's last attempt throws (say, Redis was gone for half an hour).
    const req = { remediationId: booked.id, bookingNumber: 0, start: booked.start as string };
    await t.env.app.services.fires.abandon({ name: 'fire', data: req }, 'the fire job failed 10 times: Connection is closed.');

    const failed = await latest(t, 571);
    expect(failed.status).toBe('delivery_failed');
    expect(failed.reason).toBe('resolution webhook not delivered: the fire job failed 10 times: Connection is closed.');
    expect(failed.delivery).toMatchObject({ number: 1, attempts: 0, last_error: 'the fire job failed 10 times: Connection is closed.' });
    // The window is over for this owner: the next host is booked.
    await t.daemon.waitForStatus(572, 'booked');

    const accepted = await t.daemon.post(`/v1/remediations/${booked.id}/redeliver`, {});
    expect(accepted.status).toBe(202);
    await t.daemon.waitForStatus(571, 'fired');
    const sent = webhooksFor(t, 571);
    expect(sent).toHaveLength(1);
    expect(sent[0].headers['webhook-id']).toBe(failed.delivery?.webhook_id.replace(/_d1$/, '_d2'));
  });
});
