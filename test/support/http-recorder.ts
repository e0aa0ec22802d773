import Fastify, { type FastifyInstance } from 'fastify';

export interface RecordedRequest {
  at: number;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
  body: unknown;
}

/** A real HTTP receiver (webhook sink) that records every request and answers with a configurable status. */
export class HttpRecorder {
  readonly requests: RecordedRequest[] = [];
  status = 200;
  private app: FastifyInstance = Fastify();
  url = '';

  async start(): Promise<this> {
    this.app.removeAllContentTypeParsers();
    this.app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    this.app.all('/*', async (req, reply) => {
      const rawBody = typeof req.body === 'string' ? req.body : '';
      let body: unknown = rawBody;
      try {
        body = rawBody ? JSON.parse(rawBody) : undefined;
      } catch {
        // keep the raw text
      }
      this.requests.push({ at: Date.now(), method: req.method, url: req.url, headers: req.headers, rawBody, body });
      return reply.status(this.status).send();
    });
    this.url = (await this.app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
    return this;
  }

  async close(): Promise<void> {
    await this.app.close();
  }
}
