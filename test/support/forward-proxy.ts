import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface ProxiedRequest {
  /** CONNECT (a tunnel) or the method of a forwarded absolute-form request. */
  method: string;
  /** host:port the client asked for. */
  target: string;
  /** The Proxy-Authorization header, if any. */
  authorization?: string;
}

/**
 * An HTTP forward proxy, as corporate networks run them: CONNECT tunnels and absolute-form requests, with an
 * optional Basic credential it insists on (407 otherwise). Records every request it was asked to carry.
 */
export class ForwardProxy {
  readonly requests: ProxiedRequest[] = [];
  /** The local ports of the connections it opened to targets: what a target sees as the client's port. */
  readonly upstreamPorts = new Set<number>();
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  url = '';

  constructor(private readonly credentials?: { user: string; password: string }) {
    this.server = createServer((req, res) => {
      if (!this.allowed(req)) {
        res.writeHead(407, { 'proxy-authenticate': 'Basic realm="proxy"' }).end();
        return;
      }
      const target = new URL(req.url ?? '');
      this.requests.push({ method: req.method ?? '', target: target.host, authorization: req.headers['proxy-authorization'] });
      const headers = { ...req.headers };
      delete headers['proxy-authorization'];
      const upstream = httpRequest(target, { method: req.method, headers, agent: false }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('socket', (socket) => socket.on('connect', () => this.upstreamPorts.add(socket.localPort ?? 0)));
      upstream.on('error', () => res.writeHead(502).end());
      req.pipe(upstream);
    });
    this.server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
      this.track(client);
      if (!this.allowed(req)) {
        client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="proxy"\r\n\r\n');
        return;
      }
      const target = req.url ?? '';
      this.requests.push({ method: 'CONNECT', target, authorization: req.headers['proxy-authorization'] });
      const [host, port] = target.split(':');
      const upstream = this.track(connect(Number(port), host, () => {
        this.upstreamPorts.add(upstream.localPort ?? 0);
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      }));
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as { port: number };
    const auth = this.credentials ? `${encodeURIComponent(this.credentials.user)}:${encodeURIComponent(this.credentials.password)}@` : '';
    this.url = `http://${auth}127.0.0.1:${port}`;
    return this;
  }

  /** The hosts (host:port) requests were carried to. */
  targets(): Set<string> {
    return new Set(this.requests.map((r) => r.target));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private allowed(req: IncomingMessage): boolean {
    if (!this.credentials) return true;
    const expected = `Basic ${Buffer.from(`${this.credentials.user}:${this.credentials.password}`).toString('base64')}`;
    return req.headers['proxy-authorization'] === expected;
  }

  private track(socket: Socket): Socket {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    return socket;
  }
}
