/**
 * Measures the Redis memory a remediation costs: a whole daemon (test harness: App + Calendar emulator) on a
 * private redis-server books N windows for N owners; `INFO memory` used_memory before the first event and once all
 * N are booked (and the queues idle), divided by N. Run: npx tsx scripts/measure-redis-memory.ts [N]
 */
import { Redis } from 'ioredis';
import { RedisServer } from '../test/support/redis-server';

const N = Number(process.argv[2] ?? 500);

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

async function main(): Promise<void> {
  const server = await new RedisServer().start();
  process.env.TEST_REDIS_URL = `${server.url}/0`;
  const { startTestEnv } = await import('../test/support/test-app');
  const { TestClock } = await import('../test/support/test-clock');
  const { policyEvent } = await import('../test/support/daemon-client');
  const redis = new Redis(server.url);
  const env = await startTestEnv({ label: 'mem', clock: new TestClock('2026-11-23T12:00:00Z'), bookingSweep: true });
  try {
    const before = await usedMemory(redis);
    const keysBefore = await redis.dbsize();
    for (let i = 0; i < N; i += 500) {
      const batch = [];
      for (let h = i; h < Math.min(N, i + 500); h++) batch.push(policyEvent('policy_failing', { id: 10_000 + h, emails: [`owner${h}@acme.com`] }));
      const res = await env.client.post('/v1/policy-events', batch);
      if (res.status !== 202) throw new Error(`ingest answered ${res.status}`);
    }
    const started = Date.now();
    for (;;) {
      const counts = await env.probe.store.statusCounts();
      if ((counts.booked ?? 0) >= N) break;
      if (Date.now() - started > 600_000) throw new Error(`not all booked: ${JSON.stringify(counts)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const after = await usedMemory(redis);
    const keysAfter = await redis.dbsize();
    console.log(
      JSON.stringify({
        remediations: N,
        used_memory_before: before,
        used_memory_after: after,
        bytes_per_remediation: Math.round((after - before) / N),
        keys_per_remediation: Number(((keysAfter - keysBefore) / N).toFixed(2)),
        seconds_to_book: Math.round((Date.now() - started) / 1000),
        redis_version: /redis_version:(\S+)/.exec(await redis.info('server'))?.[1],
      }),
    );
  } finally {
    await env.stop();
    redis.disconnect();
    await server.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
