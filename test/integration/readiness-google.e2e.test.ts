/**
 * /readyz's `google` check: a whole daemon says ready only when Google (here the Calendar emulator) answers: a
 * token and a cheap call succeeded recently. With a key Google does not know and its endpoints unreachable it says
 * not ready; in the sandbox it checks the embedded emulator the same way.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/lib/logger';
import { createServiceAccountKey } from '../../src/sandbox/calendar-emulator';
import { policyEvent, TEST_TOKENS } from '../support/daemon-client';
import { freePort } from '../support/free-port';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../support/redis';
import { startTestEnv } from '../support/test-app';

async function readyz(app: App): Promise<{ status: number; body: { status: string; checks: Record<string, boolean> } }> {
  const res = await app.http.inject({ url: '/readyz' });
  return { status: res.statusCode, body: res.json() };
}

describe('/readyz checks that Google answers', () => {
  it('is ready against a Google that answers, and a recent call spares the probe', async () => {
    const env = await startTestEnv({ label: 'ready-google' });
    try {
      env.emulator.resetCalls();
      expect(await readyz(env.app)).toEqual({ status: 200, body: { status: 'ready', checks: { redis: true, workers: true, google: true } } });
      // The probe: one token for the service account itself and one cheap call, as itself.
      expect(env.emulator.callCounts()).toEqual({ token: 1, 'settings.get': 1 });
      expect(env.emulator.calls.every((c) => c.owner === env.key.client_email.toLowerCase())).toBe(true);
      // Within the freshness window nothing more is asked.
      expect((await readyz(env.app)).body.checks.google).toBe(true);
      expect(env.emulator.callCounts()).toEqual({ token: 1, 'settings.get': 1 });
    } finally {
      await env.stop();
    }
  });

  it('is not ready with a key Google does not know and Google unreachable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mw-ready-'));
    const prefix = uniquePrefix('ready-nogoogle');
    const keyFile = join(dir, 'key.json');
    writeFileSync(keyFile, JSON.stringify(createServiceAccountKey()));
    const closed = `http://127.0.0.1:${await freePort()}`;
    const port = await freePort();
    const config = loadConfig({
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      PORT: String(port),
      HOST: '127.0.0.1',
      GOOGLE_CREDENTIALS_FILE: keyFile,
      GOOGLE_API_URL: `${closed}/`,
      GOOGLE_TOKEN_URL: `${closed}/token`,
      RESOLUTION_WEBHOOK_URL: `${closed}/hook`,
      INGEST_TOKEN: TEST_TOKENS.ingest,
      ADMIN_TOKEN: TEST_TOKENS.admin,
      LOG_LEVEL: 'silent',
    });
    const app = await App.create({ config, logger: createLogger('silent'), bookingSweep: false });
    try {
      await app.start();
      expect(await readyz(app)).toEqual({ status: 503, body: { status: 'not ready', checks: { redis: true, workers: true, google: false } } });
    } finally {
      await app.stop();
      await deletePrefix(prefix);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is not ready while the token endpoint refuses, and ready again once it answers', async () => {
    const env = await startTestEnv({ label: 'ready-refused' });
    try {
      // A fresh daemon has made no call yet: its first readiness is the probe.
      env.emulator.injectFault({ method: 'token', status: 503, times: 1 });
      expect(await readyz(env.app)).toEqual({ status: 503, body: { status: 'not ready', checks: { redis: true, workers: true, google: false } } });
      // Any successful Google call of the daemon's own work counts: a booking makes it ready again.
      const accepted = await env.client.post('/v1/policy-events', policyEvent('policy_failing', { id: 77, emails: ['ready@acme.com'] }));
      expect(accepted.status).toBe(202);
      await env.client.waitForStatus(77, 'booked');
      expect(await readyz(env.app)).toEqual({ status: 200, body: { status: 'ready', checks: { redis: true, workers: true, google: true } } });
    } finally {
      await env.stop();
    }
  });
});

describe('/readyz in the sandbox', () => {
  it('checks the embedded emulator the same way', async () => {
    const prefix = uniquePrefix('ready-sandbox');
    const config = loadConfig({ REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix, PORT: String(await freePort()), HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
    const app = await App.create({ config, logger: createLogger('silent'), bookingSweep: false });
    try {
      await app.start();
      expect(await readyz(app)).toEqual({ status: 200, body: { status: 'ready', checks: { redis: true, workers: true, google: true } } });
    } finally {
      await app.stop();
      await deletePrefix(prefix);
    }
  });
});
