import { main } from '../../src/cli/main';
import { createRedisClient, connectRedis } from '../../src/lib/redis-connection';
import { checkRedisReachable } from '../../src/lib/startup-checks';
import { policyEvent } from '../support/daemon-client';
import { freePort } from '../support/free-port';
import { ClusterDeployment, SentinelDeployment, TlsDeployment } from '../support/redis-deployments';
import { startTestEnv, type TestEnv } from '../support/test-app';
import { TestClock } from '../support/test-clock';
import { waitFor } from '../support/wait';

/**
 * The whole daemon on the Redis deployments operators run, each a real local one started here: one booking and
 * one fire (the resolution webhook at the window's start) through Sentinel, a 3-primary Cluster and TLS.
 */
jest.setTimeout(90_000);

// Tuesday 24 November 2026, 09:00 UTC: the first slot of the owner's day.
const START = '2026-11-24T09:00:00.000+00:00';

async function bookAndFire(env: TestEnv, clock: TestClock, hostId: number): Promise<void> {
  const owner = `owner${hostId}@acme.com`;
  env.emulator.addUser(owner, { timeZone: 'UTC' });
  clock.set(Date.parse(START) - 3000);
  const accepted = await env.client.post('/v1/policy-events', policyEvent('policy_failing', { id: hostId, emails: [owner] }, { id: 7, name: 'Disk encryption enabled' }));
  expect(accepted).toEqual({ status: 202, body: { accepted: 1 } });
  const booked = await env.client.waitForStatus(hostId, 'booked');
  expect(booked.start).toBe(START);
  expect(env.emulator.events(owner).map((e) => e.id)).toEqual([booked.calendar_event_id]);

  const delivery = await waitFor(() => env.webhook.requests.find((r) => (r.body as { host_id?: number })?.host_id === hostId), {
    timeoutMs: 10_000,
    what: 'resolution webhook',
  });
  expect(delivery.body).toMatchObject({ host_id: hostId, failing_policies: [{ id: 7, name: 'Disk encryption enabled' }] });
  const fired = await env.client.waitForStatus(hostId, 'fired');
  expect(fired.delivery).toMatchObject({ last_status: 200 });
  expect(env.webhook.requests.filter((r) => (r.body as { host_id?: number })?.host_id === hostId)).toHaveLength(1);
}

/** `maintenance-windows doctor --json`'s Redis checks for this environment. */
async function doctorRedisChecks(env: Record<string, string>): Promise<Record<string, string>> {
  let out = '';
  const code = await main(['doctor', '--json'], { stdout: (t) => void (out += t), stderr: () => undefined, env, cwd: __dirname });
  const checks = (JSON.parse(out) as { checks: Array<{ name: string; status: string }> }).checks;
  expect(code).toBe(0);
  return Object.fromEntries(checks.filter((c) => c.name.startsWith('redis.')).map((c) => [c.name, c.status]));
}

describe('Redis Sentinel (one primary, one sentinel, each with its password)', () => {
  const clock = new TestClock(START);
  let sentinel: SentinelDeployment;
  let env: TestEnv | undefined;

  beforeAll(async () => {
    sentinel = await new SentinelDeployment({ primary: 'primary-pw-0123', sentinel: 'sentinel-pw-4567' }).start();
    env = await startTestEnv({ label: 'sentinel', clock, env: sentinel.env });
  });
  afterAll(async () => {
    await env?.stop();
    await sentinel?.destroy();
  });

  it('gives up connecting (and stops retrying) when no sentinel answers, instead of waiting for ever', async () => {
    const nobody = await freePort();
    const client = createRedisClient({ deployment: { kind: 'sentinel', sentinels: [{ host: '127.0.0.1', port: nobody }], name: 'x' } }, 'main');
    client.on('error', () => undefined);
    await expect(connectRedis(client, 500)).rejects.toThrow('no connection within 0.5 s');
    // Disconnected by connectRedis: the client ends rather than retrying in the background.
    await waitFor(() => client.status === 'end', { what: 'the client to end' });
  });

  it('books and fires with REDIS_SENTINELS / REDIS_SENTINEL_NAME / REDIS_PASSWORD / REDIS_SENTINEL_PASSWORD, its state on the primary the sentinel names', async () => {
    await bookAndFire(env!, clock, 601);
    expect(await doctorRedisChecks(sentinel.env)).toEqual({ 'redis.ping': 'pass', 'redis.maxmemory-policy': 'pass', 'redis.persistence': 'warn' });
    const primary = sentinel.primary();
    try {
      const keys = await primary.keys(`${env!.prefix}:*`);
      expect(keys.length).toBeGreaterThan(0);
    } finally {
      primary.disconnect();
    }
  });
});

describe('Redis Cluster (3 primaries)', () => {
  const clock = new TestClock(START);
  let cluster: ClusterDeployment;
  let env: TestEnv | undefined;

  beforeAll(async () => {
    cluster = await new ClusterDeployment().start();
    env = await startTestEnv({ label: 'cluster', clock, env: cluster.env });
  });
  afterAll(async () => {
    await env?.stop();
    await cluster?.destroy();
  });

  it('books and fires with REDIS_CLUSTER_NODES; every key (store and BullMQ) on the hash tag’s one slot', async () => {
    await bookAndFire(env!, clock, 602);
    // doctor asks every primary of the Cluster.
    expect(await doctorRedisChecks(cluster.env)).toEqual({ 'redis.ping': 'pass', 'redis.maxmemory-policy': 'pass', 'redis.persistence': 'warn' });
    const counts = await cluster.keyCounts();
    // The prefix's {hash tag} puts everything on one slot, so on exactly one of the three primaries.
    expect(counts.filter((n) => n > 0)).toHaveLength(1);
  });
});

describe('Redis over TLS (rediss://, a CA file)', () => {
  const clock = new TestClock(START);
  let tls: TlsDeployment;
  let env: TestEnv | undefined;

  beforeAll(async () => {
    tls = await new TlsDeployment().start();
    env = await startTestEnv({ label: 'tls', clock, env: { REDIS_URL: tls.url, REDIS_TLS_CA_FILE: tls.caFile } });
  });
  afterAll(async () => {
    await env?.stop();
    await tls?.destroy();
  });

  it('books and fires over rediss:// with REDIS_TLS_CA_FILE', async () => {
    await bookAndFire(env!, clock, 603);
    const client = tls.client();
    try {
      expect((await client.keys(`${env!.prefix}:*`)).length).toBeGreaterThan(0);
    } finally {
      client.disconnect();
    }
  });

  it('the start-up reachability check connects the same way (with the CA file), and names REDIS_URL without it', async () => {
    await expect(checkRedisReachable(tls.url, 3000, tls.caFile)).resolves.toBeUndefined();
    await expect(checkRedisReachable(tls.url, 3000)).rejects.toThrow(`cannot reach Redis at REDIS_URL=${tls.url}`);
  });

  it('verifies the server certificate: without the CA file the self-signed chain is refused', async () => {
    const client = createRedisClient({ deployment: { kind: 'url', url: tls.url } }, 'main', { retryStrategy: () => null, maxRetriesPerRequest: 0 });
    const errors: Error[] = [];
    client.on('error', (err: Error) => errors.push(err));
    try {
      await expect(connectRedis(client)).rejects.toThrow();
      expect(errors.map((e) => e.message).join('\n')).toMatch(/self[- ]signed|certificate/i);
    } finally {
      client.disconnect();
    }
  });
});
