import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';

/** One request the receiver got. */
export interface Arrival {
  /** Real epoch ms when the request's body had arrived. */
  at: number;
  hostId: number | null;
  webhookId: string | null;
  status: number;
}

/**
 * The resolution-webhook receiver of the bench: records every request's arrival time and answers 200, or 429 with
 * `Retry-After` beyond `maxPerSecond` requests in one wall-clock second (a rate-limited Tines tenant).
 */
export class WebhookReceiver {
  readonly arrivals: Arrival[] = [];
  maxPerSecond: number | null = null;
  retryAfterSeconds = 1;
  private second = 0;
  private inSecond = 0;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  url = '';

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const at = Date.now();
        let hostId: number | null = null;
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { host_id?: unknown };
          if (typeof body.host_id === 'number') hostId = body.host_id;
        } catch {
          // not JSON: recorded without a host
        }
        const sec = Math.floor(at / 1000);
        if (sec !== this.second) {
          this.second = sec;
          this.inSecond = 0;
        }
        this.inSecond++;
        const limited = this.maxPerSecond !== null && this.inSecond > this.maxPerSecond;
        const status = limited ? 429 : 200;
        const header = req.headers['webhook-id'];
        this.arrivals.push({ at, hostId, webhookId: typeof header === 'string' ? header : null, status });
        if (limited) res.writeHead(429, { 'retry-after': String(this.retryAfterSeconds) }).end();
        else res.writeHead(200).end();
      });
    });
    server.keepAliveTimeout = 30_000;
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const address = server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    return this;
  }

  /** Per host: the first accepted (2xx) arrival, and how many requests it took. */
  accepted(): Map<number, { at: number; requests: number }> {
    const out = new Map<number, { at: number; requests: number }>();
    const counts = new Map<number, number>();
    for (const a of this.arrivals) {
      if (a.hostId === null) continue;
      counts.set(a.hostId, (counts.get(a.hostId) ?? 0) + 1);
      if (a.status < 300 && !out.has(a.hostId)) out.set(a.hostId, { at: a.at, requests: 0 });
    }
    for (const [host, v] of out) v.requests = counts.get(host) ?? 0;
    return out;
  }

  reset(): void {
    this.arrivals.length = 0;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}
