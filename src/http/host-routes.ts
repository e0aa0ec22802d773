import type { FastifyInstance } from 'fastify';
import { maintenanceState } from '../domain/maintenance-state';
import type { HttpDeps } from './http-deps';
import { parseOr400, positiveIntParam } from './query-schema';

/**
 * `GET /v1/hosts/:id/maintenance` (admin token): is the host in its maintenance window now, for how long, and
 * when is the next one (for alerting and patching tools that suppress alerts during the window).
 */
export function hostRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.get<{ Params: { id: string } }>('/v1/hosts/:id/maintenance', { config: { auth: 'admin' } }, async (req) => {
    const hostId = parseOr400(positiveIntParam, req.params.id, 'id');
    const { remediations } = await deps.store.list({ hostId, limit: 1000 });
    return maintenanceState(hostId, remediations, deps.clock.now());
  });
}
