import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** How the receiver answers one request: a status (with headers), or never (`hang`: the sender must time out). */
export type ScriptedAnswer = { status: number; headers?: Record<string, string> } | { hang: true };

export interface ReceivedRequest {
  at: number;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The exact bytes received. */
  raw: Buffer;
  rawBody: string;
  /** How it was answered. */
  answer: ScriptedAnswer;
}

/**
 * A real HTTP webhook receiver answering from a script: the queued answers first, one per request, then
 * `fallback`. It records every request's raw bytes. Can listen on a chosen port (start it after the daemon
 * gave up on that port, to test redelivery).
 */
export class ScriptedReceiver {
  readonly requests: ReceivedRequest[] = [];
  fallback: ScriptedAnswer = { status: 200 };
  private readonly script: ScriptedAnswer[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly hanging = new Set<ServerResponse>();
  private server: Server | null = null;
  url = '';

  /** Queue answers for the next requests. */
  answer(...answers: ScriptedAnswer[]): this {
    this.script.push(...answers);
    return this;
  }

  async start(port = 0): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const answer = this.script.shift() ?? this.fallback;
        this.requests.push({ at: Date.now(), method: req.method ?? '', url: req.url ?? '', headers: req.headers, raw, rawBody: raw.toString('utf8'), answer });
        if ('hang' in answer) {
          this.hanging.add(res);
          return;
        }
        res.writeHead(answer.status, answer.headers).end();
      });
    });
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const address = server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`;
    return this;
  }

  /** Requests whose JSON body names this host. */
  forHost(hostId: number): ReceivedRequest[] {
    return this.requests.filter((r) => {
      try {
        return (JSON.parse(r.rawBody) as { host_id?: number }).host_id === hostId;
      } catch {
        return false;
      }
    });
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.hanging.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
