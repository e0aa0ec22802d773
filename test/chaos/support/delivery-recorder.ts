import Fastify, { type FastifyInstance } from 'fastify';

/** One resolution webhook request as the receiver saw it. */
export interface Delivery {
  at: number;
  hostId: number | null;
  /** Standard Webhooks `webhook-id` (stable across retries of one delivery), or the legacy `x-delivery-id`. */
  webhookId: string | null;
  body: unknown;
}

/**
 * The resolution-webhook receiver of the chaos scenarios: records every request and answers 200, optionally only
 * after a random delay (so deliveries are in flight when a daemon is killed or stopped).
 */
export class DeliveryRecorder {
  readonly deliveries: Delivery[] = [];
  /** Each request is answered after a random delay in [min, max] ms. */
  delayMs: [number, number] = [0, 0];
  private readonly app: FastifyInstance = Fastify();
  url = '';

  async start(): Promise<this> {
    this.app.post('/*', async (req, reply) => {
      const body = req.body as { host_id?: unknown } | undefined;
      const header = req.headers['webhook-id'] ?? req.headers['x-delivery-id'];
      this.deliveries.push({
        at: Date.now(),
        hostId: typeof body?.host_id === 'number' ? body.host_id : null,
        webhookId: typeof header === 'string' ? header : null,
        body,
      });
      const [min, max] = this.delayMs;
      if (max > 0) await new Promise((r) => setTimeout(r, min + Math.random() * (max - min)));
      return reply.status(200).send();
    });
    this.url = (await this.app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
    return this;
  }

  /**
   * Per window (host): how many distinct deliveries arrived — by webhook id when the daemon sends one (a retry of
   * one delivery repeats its id and is not a duplicate), else every request counts.
   */
  deliveriesPerHost(): Map<number, { deliveries: number; requests: number }> {
    const byHost = new Map<number, { ids: Set<string>; requests: number }>();
    for (const d of this.deliveries) {
      if (d.hostId === null) continue;
      const entry = byHost.get(d.hostId) ?? { ids: new Set<string>(), requests: 0 };
      entry.requests++;
      entry.ids.add(d.webhookId ?? `request-${entry.requests}`);
      byHost.set(d.hostId, entry);
    }
    return new Map([...byHost].map(([host, e]) => [host, { deliveries: e.ids.size, requests: e.requests }]));
  }

  async close(): Promise<void> {
    await this.app.close();
  }
}
