import Fastify, { type FastifyInstance } from 'fastify';

export interface FakeFleetHost {
  id: number;
  hostname: string;
  display_name: string;
  hardware_serial: string;
  team_id: number | null;
  device_mapping: Array<{ email: string; source: string }>;
}

/** A Fleet server's REST API as far as the daemon uses it: host details and device mapping, Bearer-protected. */
export class FakeFleet {
  readonly hosts = new Map<number, FakeFleetHost>();
  readonly requests: string[] = [];
  /** Answer every request with this status instead (e.g. 503), while set. */
  failWith: number | null = null;
  private app: FastifyInstance = Fastify();
  url = '';

  constructor(readonly apiToken = 'fleet-api-token-for-tests') {}

  async start(): Promise<this> {
    this.app.addHook('onRequest', async (req, reply) => {
      this.requests.push(`${req.method} ${req.url}`);
      if (req.headers.authorization !== `Bearer ${this.apiToken}`) return reply.status(401).send({ message: 'Authentication required' });
      if (this.failWith) return reply.status(this.failWith).send({ message: 'unavailable' });
    });
    this.app.get<{ Params: { id: string } }>('/api/v1/fleet/hosts/:id', async (req, reply) => {
      const h = this.hosts.get(Number(req.params.id));
      if (!h) return reply.status(404).send({ message: 'Resource Not Found', errors: [{ name: 'base', reason: 'host not found' }] });
      const { device_mapping: _m, ...host } = h;
      return { host: { ...host, status: 'online', policies: [], end_users: [] } };
    });
    this.app.get<{ Params: { id: string } }>('/api/v1/fleet/hosts/:id/device_mapping', async (req, reply) => {
      const h = this.hosts.get(Number(req.params.id));
      if (!h) return reply.status(404).send({ message: 'Resource Not Found' });
      return { host_id: h.id, device_mapping: h.device_mapping };
    });
    this.url = (await this.app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
    return this;
  }

  async close(): Promise<void> {
    await this.app.close();
  }
}
