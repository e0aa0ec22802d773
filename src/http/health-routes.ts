import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from './http-deps';

/** `GET /healthz` (the process is up) and `GET /readyz` (Redis answers, the workers run, Google answers). */
export function healthRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const tags = ['operations'];
  app.get('/healthz', { schema: { tags, summary: 'The process is up' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { tags, summary: 'Ready: Redis answers, the workers run and Google answers (503 otherwise)' } }, async (_req, reply) => {
    const r = await deps.ready();
    return reply.status(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not ready', checks: r.checks });
  });
}
