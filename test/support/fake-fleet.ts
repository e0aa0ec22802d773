import Fastify, { type FastifyInstance } from 'fastify';

export interface FakeFleetHost {
  id: number;
  hostname: string;
  display_name: string;
  hardware_serial: string;
  team_id: number | null;
  device_mapping: Array<{ email: string; source: string }>;
  /** Fleet's `status` (default "online"). */
  status?: string;
  /** Policy results as Fleet reports them: "pass", "fail" or "" (not run yet). */
  policies?: Array<{ id: number; name?: string; response: 'pass' | 'fail' | '' }>;
}

/** One request the fake Fleet received: when (real epoch ms), what, and what it answered. */
export interface FakeFleetRequest {
  at: number;
  line: string;
  status: number;
}

/** A Fleet server's REST API as far as the daemon uses it: host details and device mapping, Bearer-protected. */
export class FakeFleet {
  readonly hosts = new Map<number, FakeFleetHost>();
  readonly requests: string[] = [];
  /** Answer every request with this status instead (e.g. 503), while set. */
  failWith: number | null = null;
  /** Every request with its time and answer (requests keeps the lines only). */
  readonly log: FakeFleetRequest[] = [];
  /** The next `count` requests answer 429 with `Retry-After: retryAfter` (seconds). */
  rateLimit: { count: number; retryAfter: string } | null = null;
  private app: FastifyInstance = Fastify();
  url = '';

  constructor(readonly apiToken = 'fleet-api-token-for-tests') {}

  async start(): Promise<this> {
    this.app.addHook('onRequest', async (req, reply) => {
      this.requests.push(`${req.method} ${req.url}`);
      const entry: FakeFleetRequest = { at: Date.now(), line: `${req.method} ${req.url}`, status: 200 };
      this.log.push(entry);
      if (req.headers.authorization !== `Bearer ${this.apiToken}`) return reply.status((entry.status = 401)).send({ message: 'Authentication required' });
      if (this.failWith) return reply.status((entry.status = this.failWith)).send({ message: 'unavailable' });
      if (this.rateLimit && this.rateLimit.count > 0) {
        this.rateLimit.count--;
        return reply.status((entry.status = 429)).header('retry-after', this.rateLimit.retryAfter).send({ message: 'too many requests' });
      }
    });
    // A policy's failing (or passing) hosts, paged as Fleet pages them (page from 0, per_page).
    this.app.get<{ Querystring: Record<string, string> }>('/api/v1/fleet/hosts', async (req) => {
      const policyId = Number(req.query.policy_id);
      const wanted = req.query.policy_response === 'passing' ? 'pass' : 'fail';
      const perPage = Number(req.query.per_page ?? 100);
      const page = Number(req.query.page ?? 0);
      const matching = [...this.hosts.values()]
        .filter((h) => h.policies?.some((p) => p.id === policyId && p.response === wanted))
        .sort((a, b) => a.id - b.id);
      const hosts = matching.slice(page * perPage, (page + 1) * perPage).map(({ device_mapping: _m, policies: _p, ...h }) => ({ ...h, status: h.status ?? 'online' }));
      return { hosts };
    });
    this.app.get<{ Params: { id: string } }>('/api/v1/fleet/hosts/:id', async (req, reply) => {
      const h = this.hosts.get(Number(req.params.id));
      if (!h) return reply.status(404).send({ message: 'Resource Not Found', errors: [{ name: 'base', reason: 'host not found' }] });
      const { device_mapping: _m, ...host } = h;
      const policies = (h.policies ?? []).map((p) => ({ id: p.id, name: p.name ?? `Policy ${p.id}`, response: p.response }));
      return { host: { ...host, status: h.status ?? 'online', policies, end_users: [] } };
    });
    this.app.get<{ Params: { id: string } }>('/api/v1/fleet/hosts/:id/device_mapping', async (req, reply) => {
      const h = this.hosts.get(Number(req.params.id));
      if (!h) return reply.status(404).send({ message: 'Resource Not Found' });
      return { host_id: h.id, device_mapping: h.device_mapping };
    });
    this.url = (await this.app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
    return this;
  }

  /** Sets a host's result for a policy (adds the policy to the host if needed). */
  setPolicy(hostId: number, policyId: number, response: 'pass' | 'fail' | ''): void {
    const h = this.hosts.get(hostId);
    if (!h) throw new Error(`fake Fleet: no host ${hostId}`);
    const others = (h.policies ?? []).filter((p) => p.id !== policyId);
    h.policies = [...others, { id: policyId, response }].sort((a, b) => a.id - b.id);
  }

  /** Requests received since `index` (an earlier `log.length`). */
  since(index: number): FakeFleetRequest[] {
    return this.log.slice(index);
  }

  async close(): Promise<void> {
    await this.app.close();
  }
}
