/**
 * Shared pieces of the Graph emulator tests: an emulator with one daemon app (secret and certificate), MSAL
 * clients pointed at it, a Graph caller on undici fetch, and a tiny notification receiver that does the
 * validation handshake and records notifications (waiters are woken by arrivals, no polling).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfidentialClientApplication } from '@azure/msal-node';
import { fetch } from 'undici';
import { createMsalNetworkClient } from '../../src/microsoft/msal-network-client';
import { createSelfSignedCertificate, GRAPH_SCOPE, GraphEmulator, type GraphEmulatorOptions, type SelfSignedCertificate } from '../../src/sandbox/graph-emulator';

export const CLIENT_ID = '3f1b8c2e-5d4a-4e7b-9a61-0c2d8e9f7a10';
export const SECRET = 'Zx8Q~emulator-secret-value';

export interface Fixture {
  emulator: GraphEmulator;
  certificate: SelfSignedCertificate;
  msalWithSecret(secret?: string): ConfidentialClientApplication;
  msalWithCertificate(kind: 'sha1' | 'sha256', cert?: SelfSignedCertificate): ConfidentialClientApplication;
  token(): Promise<string>;
  graph(method: string, path: string, opts?: { body?: unknown; headers?: Record<string, string>; token?: string | null; signal?: AbortSignal }): Promise<GraphResponse>;
  close(): Promise<void>;
}

export interface GraphResponse {
  status: number;
  headers: Headers;
  body: any;
}

export async function startFixture(opts: GraphEmulatorOptions = {}): Promise<Fixture> {
  const emulator = new GraphEmulator({ allowHttpNotificationUrls: true, ...opts });
  await emulator.listen();
  const certificate = createSelfSignedCertificate({ commonName: 'maintenance-windows daemon' });
  emulator.registerApp({ clientId: CLIENT_ID, secret: SECRET, certificatePem: certificate.certificatePem });
  const system = { networkClient: createMsalNetworkClient({ dispatcher: emulator.dispatcher }) };
  const auth = { clientId: CLIENT_ID, authority: emulator.authority, knownAuthorities: [emulator.knownAuthority] };
  const msalWithSecret = (secret = SECRET) => new ConfidentialClientApplication({ auth: { ...auth, clientSecret: secret }, system });
  const msalWithCertificate = (kind: 'sha1' | 'sha256', cert = certificate) =>
    new ConfidentialClientApplication({
      auth: {
        ...auth,
        clientCertificate:
          kind === 'sha256' ? { thumbprintSha256: cert.thumbprintSha256, privateKey: cert.privateKeyPem } : { thumbprint: cert.thumbprintSha1, privateKey: cert.privateKeyPem },
      },
      system,
    });
  const daemon = msalWithSecret();
  const token = async () => {
    const result = await daemon.acquireTokenByClientCredential({ scopes: [GRAPH_SCOPE] });
    if (!result) throw new Error('no token');
    return result.accessToken;
  };
  const graph: Fixture['graph'] = async (method, path, o = {}) => {
    const bearer = o.token === undefined ? await token() : o.token;
    const url = path.startsWith('https://') ? path : `${emulator.graphUrl}${path.replace(/^\//, '')}`;
    const res = await fetch(url, {
      method,
      dispatcher: emulator.dispatcher,
      headers: {
        ...(bearer !== null && { authorization: `Bearer ${bearer}` }),
        ...(o.body !== undefined && { 'content-type': 'application/json' }),
        ...o.headers,
      },
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
      signal: o.signal,
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers as unknown as Headers, body: text === '' ? undefined : JSON.parse(text) };
  };
  return { emulator, certificate, msalWithSecret, msalWithCertificate, token, graph, close: () => emulator.close() };
}

export type HandshakeMode = 'echo' | 'echo-encoded' | 'status-500' | 'json' | 'hang';

export interface Notification {
  path: string;
  body: { value: Array<Record<string, any>> };
}

/** A plain-HTTP receiver at /notify and /lifecycle. */
export class NotificationReceiver {
  handshake: HandshakeMode = 'echo';
  readonly validations: string[] = [];
  readonly received: Notification[] = [];
  private readonly waiters: Array<{ test: (n: Notification) => boolean; resolve: (n: Notification) => void }> = [];
  private server?: Server;
  private base = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const token = url.searchParams.get('validationToken');
        if (token !== null) {
          this.validations.push(token);
          if (this.handshake === 'hang') return;
          if (this.handshake === 'status-500') return void res.writeHead(500).end();
          if (this.handshake === 'json') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token }));
          const body = this.handshake === 'echo-encoded' ? encodeURIComponent(token) : token;
          return void res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
        }
        const notification = { path: url.pathname, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
        this.received.push(notification);
        res.writeHead(202).end();
        for (const waiter of [...this.waiters]) {
          if (waiter.test(notification)) {
            this.waiters.splice(this.waiters.indexOf(waiter), 1);
            waiter.resolve(notification);
          }
        }
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  get notifyUrl(): string {
    return `${this.base}/notify`;
  }

  get lifecycleUrl(): string {
    return `${this.base}/lifecycle`;
  }

  /** Resolves with the first notification (already received or still to come) that passes the test. */
  next(test: (n: Notification) => boolean): Promise<Notification> {
    const seen = this.received.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** A dateTimeTimeZone body value. */
export const dt = (dateTime: string, timeZone = 'UTC') => ({ dateTime, timeZone });
