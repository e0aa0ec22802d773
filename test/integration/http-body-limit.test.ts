/**
 * An oversized body over a real socket: the client writes the whole 3 MiB body before it reads the answer (as
 * Node's http client, curl and most SDKs do) and must get the 413, not EPIPE / ECONNRESET mid-upload.
 */
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildHttpServer, BODY_LIMIT_BYTES, DRAIN_LIMIT_BYTES } from '../../src/http/server';
import { createLogger } from '../../src/lib/logger';
import { systemClock } from '../../src/lib/clock';
import type { RemediationStore } from '../../src/store/remediation-store';

interface Answer {
  status: number;
  body: string;
  connection?: string;
}

/** POSTs `size` bytes, writing all of them before reading; resolves with the answer or rejects with the socket error. */
function postFully(port: number, size: number, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/v1/policy-events', headers: { 'content-type': 'application/json', 'content-length': String(size), ...headers } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    // One JSON string of `size` bytes: ["xxxx…"]
    const payload = Buffer.alloc(size, 'x');
    payload.write('["', 0);
    payload.write('"]', size - 2);
    req.end(payload);
  });
}

describe('the body limit over a real socket', () => {
  let app: FastifyInstance;
  let port: number;
  let enqueued = 0;

  beforeAll(async () => {
    app = await buildHttpServer({
      logger: createLogger('silent'),
      store: {} as RemediationStore,
      clock: systemClock,
      tokens: {},
      enqueue: async (events) => {
        enqueued += events.length;
      },
      notify: async () => ({ kind: 'ignored', reason: 'not under test' }),
      ready: async () => ({ ready: true, checks: { redis: true, workers: true } }),
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await app.close();
  });

  it('answers 413 BODY_TOO_LARGE to a client that writes a whole 3 MiB body before reading', async () => {
    const answer = await postFully(port, 3 * 1024 * 1024);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ statusCode: 413, code: 'BODY_TOO_LARGE' });
    // The body was read to its end before the answer, so the connection can even be kept.
    expect(answer.connection).toBe('keep-alive');
    expect(enqueued).toBe(0);
  });

  it('does the same for a chunked body with no Content-Length', async () => {
    const answer = await new Promise<Answer>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/policy-events', headers: { 'content-type': 'application/json' } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      for (let i = 0; i < 48; i++) req.write(Buffer.alloc(64 * 1024, 'x'));
      req.end();
    });
    expect(answer.status).toBe(413);
    expect(enqueued).toBe(0);
  });

  it('closes the connection at once beyond the drain bound', async () => {
    const answer = await new Promise<Answer>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, method: 'POST', path: '/v1/policy-events', headers: { 'content-type': 'application/json', 'content-length': String(DRAIN_LIMIT_BYTES + 1) } },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: '', connection: res.headers.connection }));
        },
      );
      req.on('error', reject);
      req.write('["');
    });
    expect(answer).toMatchObject({ status: 413, connection: 'close' });
  });

  it('still takes a body just under the limit', async () => {
    const answer = await postFully(port, BODY_LIMIT_BYTES - 10);
    // A valid JSON array of one string, not an event: refused as invalid, but read in full and answered.
    expect(answer.status).toBe(400);
  });
});
