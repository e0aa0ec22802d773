import { request } from 'undici';
import { waitFor } from '../support/wait';
import { ChaosEnv, failing, postJson } from './support/chaos-env';

const HOSTS = 200;
const BATCH = 5;
const OUTAGE_MS = 6000;

const owner = (host: number) => `outage${host}@acme.com`;

interface Post {
  sentAt: number;
  status: number;
  hosts: number[];
}

describe('chaos: Redis stopped and restarted mid-run', () => {
  let env: ChaosEnv;
  let failed = false;

  afterAll(async () => {
    await env?.stop({ keepLogs: failed });
  });

  it('stays up, answers 503 (never 202) while Redis is down, recovers by itself and loses nothing it accepted', async () => {
    const began = Date.now();
    // Windows start an hour from now: nothing fires during the scenario.
    env = await ChaosEnv.start({ label: 'outage', daemons: 2, leadMs: 3_600_000 });
    try {
      const [d1, d2] = env.daemons;
      const hosts = Array.from({ length: HOSTS }, (_, i) => 5000 + i);
      const posts: Post[] = [];
      // A producer posting a batch every 100 ms to alternating daemons, one try each, until every host was accepted.
      let next = 0;
      const refused: number[] = [];
      const producer = (async () => {
        let turn = 0;
        while (next < hosts.length || refused.length > 0) {
          const batch = refused.length > 0 ? refused.splice(0, BATCH) : hosts.slice(next, (next += BATCH));
          const daemon = env.daemons[turn++ % env.daemons.length];
          const sentAt = Date.now();
          const status = await postJson(`${daemon.url}/v1/policy-events`, batch.map((h) => failing(h, owner(h))));
          posts.push({ sentAt, status, hosts: batch });
          if (status !== 202) refused.push(...batch);
          await new Promise((r) => setTimeout(r, 100));
        }
      })();

      await waitFor(() => next >= hosts.length / 3, { timeoutMs: 30_000, what: 'a third of the events posted' });
      await env.redis.stop();
      const downAt = Date.now();
      const whileDown: { readyz: number[]; healthz: number[] } = { readyz: [], healthz: [] };
      while (Date.now() - downAt < OUTAGE_MS) {
        for (const d of env.daemons) {
          whileDown.readyz.push(await d.readiness());
          whileDown.healthz.push(await status(`${d.url}/healthz`));
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      const upAt = Date.now();
      await env.redis.start();
      const recovered = await Promise.all(
        env.daemons.map(async (d) => {
          await waitFor(async () => (await d.readiness()) === 200, { timeoutMs: 30_000, intervalMs: 100, what: `${d.name} ready again` });
          return Date.now() - upAt;
        }),
      );
      await producer;

      const accepted = new Set(posts.filter((p) => p.status === 202).flatMap((p) => p.hosts));
      const duringOutage = posts.filter((p) => p.sentAt >= downAt && p.sentAt < upAt);
      const all = await waitFor(
        async () => {
          const rs = await env.remediations();
          return rs.length === accepted.size && rs.every((r) => r.status === 'booked') ? rs : null;
        },
        { timeoutMs: 120_000, intervalMs: 1000, what: 'every accepted host booked' },
      );
      const lost = [...accepted].filter((h) => !all.some((r) => r.host_id === h)).length;
      const duplicateEvents = hosts.filter((h) => env.ourEvents(owner(h)).length > 1).length;

      console.log(
        JSON.stringify({
          scenario: 'B: Redis outage',
          hosts: HOSTS,
          posts: posts.length,
          accepted: accepted.size,
          postsDuringOutage: duringOutage.length,
          statusesDuringOutage: countBy(duringOutage.map((p) => p.status)),
          readyzDuringOutage: countBy(whileDown.readyz),
          healthzDuringOutage: countBy(whileDown.healthz),
          outageMs: upAt - downAt,
          recoveredMsAfterRedisStart: recovered,
          booked: all.length,
          lost,
          duplicateEvents,
          totalMs: Date.now() - began,
        }),
      );

      expect(d1.alive && d2.alive).toBe(true);
      expect(d1.starts + d2.starts).toBe(2);
      expect(duringOutage.length).toBeGreaterThan(10);
      expect(duringOutage.every((p) => p.status === 503)).toBe(true);
      expect(whileDown.readyz.every((s) => s === 503)).toBe(true);
      expect(whileDown.healthz.every((s) => s === 200)).toBe(true);
      expect(accepted.size).toBe(HOSTS);
      expect(lost).toBe(0);
      expect(duplicateEvents).toBe(0);
    } catch (err) {
      failed = true;
      throw err;
    }
  });
});

async function status(url: string): Promise<number> {
  try {
    const res = await request(url, { headersTimeout: 3000, bodyTimeout: 3000 });
    await res.body.dump();
    return res.statusCode;
  } catch {
    return 0;
  }
}

function countBy(values: number[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}
