import type { FastifyInstance } from 'fastify';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { requireToken } from './auth';
import type { HttpDeps } from './http-deps';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/**
 * `GET /metrics` (Prometheus text; no identifiers in it, open like /readyz) and the BullMQ queues in bull-board at
 * `/admin/queues` (admin token: Bearer, or HTTP Basic with the token as password from a browser). The dashboard is
 * read-only: a job removed or promoted by hand would change a remediation with no lifecycle event to say so.
 */
export async function operationsRoutes(app: FastifyInstance, deps: HttpDeps): Promise<void> {
  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics (text format)' } }, async (_req, reply) => {
    if (!deps.metrics) return reply.status(404).send();
    const { contentType, body } = await deps.metrics();
    return reply.header('content-type', contentType).send(body);
  });
  if (deps.queues && deps.queues.length > 0) {
    const serverAdapter = new FastifyAdapter();
    serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
    createBullBoard({ queues: deps.queues.map((q) => new BullMQAdapter(q, { readOnlyMode: true })), serverAdapter });
    await app.register(async (scope) => {
      scope.addHook('onRequest', requireToken('admin', deps.tokens));
      await scope.register(serverAdapter.registerPlugin(), { prefix: QUEUE_DASHBOARD_PATH });
    });
  }
}
