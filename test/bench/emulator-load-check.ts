/**
 * A self-check of the emulator's load model (not a jest test: `npx tsx test/bench/emulator-load-check.ts`): the
 * project quota answers 403 rateLimitExceeded (usageLimits) beyond Q, the per-user quota 403 userRateLimitExceeded
 * (or 429), token requests are not counted, and the latency is applied.
 */
import assert from 'node:assert/strict';
import { createSign } from 'node:crypto';
import { CalendarEmulator, createServiceAccountKey } from '../../src/sandbox/calendar-emulator';

async function main(): Promise<void> {
  const emulator = new CalendarEmulator({ load: { projectQuota: 5, userQuota: 3, latencyMs: [40, 60] } });
  await emulator.listen(0);
  const key = createServiceAccountKey();
  emulator.trustServiceAccount(key);
  const token = async (sub: string) => {
    const res = await fetch(emulator.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: await assertion(sub) }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as { access_token: string }).access_token;
  };
  const assertion = async (sub: string) => {
    // The JWT-bearer assertion google-auth-library would sign for this subject.
    const now = Math.floor(Date.now() / 1000);
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const body = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ iss: key.client_email, sub, scope: 'https://www.googleapis.com/auth/calendar.events https://www.googleapis.com/auth/calendar.settings.readonly', aud: 'https://oauth2.googleapis.com/token', iat: now, exp: now + 3600 })}`;
    return `${body}.${createSign('RSA-SHA256').update(body).sign(key.private_key, 'base64url')}`;
  };
  const call = async (tok: string, quotaUser: string) => {
    const started = Date.now();
    const res = await fetch(`${emulator.baseUrl}calendar/v3/users/me/settings/timezone?quotaUser=${encodeURIComponent(quotaUser)}`, { headers: { authorization: `Bearer ${tok}` } });
    return { status: res.status, body: (await res.json()) as { error?: { errors: { domain: string; reason: string }[] } }, ms: Date.now() - started };
  };
  const a = await token('a@example.com');
  const b = await token('b@example.com');
  const results = [];
  for (let i = 0; i < 4; i++) results.push(await call(a, 'a@example.com'));
  assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 403]);
  assert.deepEqual(results[3].body.error?.errors[0], { domain: 'usageLimits', reason: 'userRateLimitExceeded', message: 'User Rate Limit Exceeded' });
  assert.ok(results.every((r) => r.ms >= 39), `latency applied: ${results.map((r) => r.ms).join(',')}`);
  const more = [await call(b, 'b@example.com'), await call(b, 'b@example.com'), await call(b, 'b@example.com')];
  assert.deepEqual(more.map((r) => r.status), [200, 200, 403]);
  assert.deepEqual(more[2].body.error?.errors[0], { domain: 'usageLimits', reason: 'rateLimitExceeded', message: 'Rate Limit Exceeded' });
  const stats = emulator.load?.stats();
  assert.equal(stats?.admittedTotal, 5);
  assert.equal(stats?.tokenRequests, 2);
  assert.equal(stats?.projectRejected, 1);
  assert.equal(stats?.userRejected, 1);
  assert.equal(stats?.maxAdmittedInWindow, 5);
  emulator.load?.configure({ userQuotaStatus: 429, projectQuota: undefined });
  assert.equal((await call(a, 'a@example.com')).status, 429);
  await emulator.close();
  console.log('emulator load model: OK', JSON.stringify(stats));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
