import { STATUS_CODES } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { registerAuth } from './auth';
import type { ErrorCode } from './error-codes';
import { HttpError } from './errors';
import { eventRoutes } from './event-routes';
import { googleRoutes } from './google-routes';
import { microsoftRoutes } from './microsoft-routes';
import { hostRoutes } from './host-routes';
import { maintenanceRoutes } from './maintenance-routes';
import { healthRoutes } from './health-routes';
import type { HttpDeps } from './http-deps';
import { ingestRoutes } from './ingest-routes';
import { registerOpenApi } from './openapi';
import { operationsRoutes } from './operations-routes';
import { statusPageRoutes } from './status-page';
import { remediationRoutes } from './remediation-routes';

export type { HttpDeps } from './http-deps';

/** How a 400 names the request body as a whole (the field of an error that is not about one field). */
const BODY_FIELD = '(body)';

/** Largest accepted ingest body (a Fleet webhook for thousands of hosts fits). */
export const BODY_LIMIT_BYTES = 2 * 1024 * 1024;

/**
 * A body over the limit is still read (and discarded) up to this many bytes in all before the 413 is sent: most
 * clients write the whole body before they read the answer, and a connection closed mid-upload shows them EPIPE or
 * ECONNRESET instead of the 413. Beyond this bound the 413 goes out at once and the connection is closed.
 */
export const DRAIN_LIMIT_BYTES = 16 * 1024 * 1024;

/**
 * The HTTP layer: validates, authenticates and enqueues. It holds no business logic; the workers do the work.
 */
export async function buildHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // Per-request logs stay quiet (warn); routes log what they accepted, services what happened to whom.
    loggerInstance: deps.logger.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    return503OnClosing: true,
    // Node's default: shutdown never waits long on a client's idle keep-alive connection.
    keepAliveTimeout: 5000,
  });

  app.addHook('preParsing', async (req, reply, payload) => {
    const declared = req.headers['content-length'];
    if (declared === undefined) return capChunkedBody(payload);
    const length = Number(declared);
    if (!(length > BODY_LIMIT_BYTES)) return payload;
    // Declared too large: read it all (within the bound) so the client sees the answer, then refuse.
    if (length > DRAIN_LIMIT_BYTES || !(await drain(payload, DRAIN_LIMIT_BYTES))) reply.header('connection', 'close');
    throw bodyTooLarge();
  });

  // Google push notifications carry `Content-Type: application/json; utf-8` with an empty body.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new HttpError('INVALID_JSON', `${BODY_FIELD}: is not valid JSON`, BODY_FIELD), undefined);
    }
  });

  app.setErrorHandler((error, req, reply) => {
    const err = error as Error & { statusCode?: number; code?: string };
    if (err instanceof HttpError) {
      return reply.status(err.statusCode).send(errorBody(err.statusCode, err.code, err.message, err.field));
    }
    const status = err.statusCode;
    if (status && status >= 400 && status < 500) {
      // Fastify's own client errors: 413 body too large, 415 media type, bad JSON…
      const code: string = status === 413 ? ('BODY_TOO_LARGE' satisfies ErrorCode) : (err.code ?? 'BAD_REQUEST');
      return reply.status(status).send(errorBody(status, code, err.message));
    }
    // The path only: a query string may hold a token (`?token=` on Fleet's route).
    req.log.error({ err, url: req.url.split('?')[0] }, 'request failed');
    return reply.status(500).send(errorBody(500, 'INTERNAL', 'internal error'));
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send(errorBody(404, 'NOT_FOUND', `no route for ${req.method} ${req.url.split('?')[0]}`)),
  );

  // Before any route: the OpenAPI document is collected from the routes as they are added.
  await registerOpenApi(app);
  registerAuth(app, deps.tokens);
  ingestRoutes(app, deps);
  remediationRoutes(app, deps);
  eventRoutes(app, deps);
  hostRoutes(app, deps);
  maintenanceRoutes(app, deps);
  statusPageRoutes(app, deps);
  await operationsRoutes(app, deps);
  googleRoutes(app, deps);
  microsoftRoutes(app, deps, { answerWithinMs: deps.graphAnswerWithinMs });
  healthRoutes(app, deps);

  return app;
}

/** The 413 (the error handler turns its statusCode into BODY_TOO_LARGE). */
function bodyTooLarge(): Error & { statusCode: number } {
  return Object.assign(new Error(`Request body is too large (limit ${BODY_LIMIT_BYTES} bytes)`), { statusCode: 413 });
}

/** Reads and discards the stream to its end; false when it held more than `bound` bytes (then stops reading). */
function drain(stream: Readable, bound: number): Promise<boolean> {
  return new Promise((resolve) => {
    let seen = 0;
    const done = (whole: boolean) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onError);
      if (!whole) stream.pause();
      resolve(whole);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > bound) done(false);
    };
    const onEnd = () => done(true);
    const onError = () => done(false);
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.once('close', onError);
    stream.resume();
  });
}

/**
 * A body without Content-Length (chunked): passed on up to the limit; past it, the rest is read and discarded (up
 * to DRAIN_LIMIT_BYTES) and the stream then fails with the 413, so the client has finished writing when it comes.
 */
function capChunkedBody(payload: Readable): Readable {
  let seen = 0;
  const capped = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen <= BODY_LIMIT_BYTES) return callback(null, chunk);
      if (seen > DRAIN_LIMIT_BYTES) return callback(bodyTooLarge());
      callback();
    },
    flush(callback) {
      callback(seen > BODY_LIMIT_BYTES ? bodyTooLarge() : null);
    },
  });
  payload.on('error', (err) => capped.destroy(err));
  return payload.pipe(capped);
}

function errorBody(statusCode: number, code: string, message: string, field?: string) {
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message, ...(field ? { field } : {}) };
}
