import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HeldResponse {
  method: string;
  url: string;
  status: number;
}

/**
 * A network fault between the daemon and Google: forwards every request to the upstream server unchanged, and
 * holds the answer of a chosen share of them for `holdMs` before passing it on. The upstream has already done the
 * work; a client with a shorter timeout never learns it (the "insert went through, the answer was lost" case).
 */
export class LossyProxy {
  readonly held: HeldResponse[] = [];
  private server?: Server;
  private url?: string;

  constructor(
    private readonly upstream: string,
    private readonly options: { holdMs: number; probability: number; matches: (req: IncomingMessage) => boolean },
  ) {}

  async start(): Promise<this> {
    const upstream = new URL(this.upstream);
    const server = createServer((req, res) => {
      const forward = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
        (answer) => {
          const hold = this.options.matches(req) && Math.random() < this.options.probability;
          if (hold) this.held.push({ method: req.method ?? '', url: req.url ?? '', status: answer.statusCode ?? 0 });
          setTimeout(
            () => {
              if (res.destroyed) return void answer.resume();
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              answer.pipe(res);
            },
            hold ? this.options.holdMs : 0,
          );
        },
      );
      forward.on('error', () => res.destroy());
      req.pipe(forward);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    return this;
  }

  /** Base URL with a trailing slash (a rootUrl for googleapis). */
  get baseUrl(): string {
    if (!this.url) throw new Error('proxy is not listening');
    return this.url;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
