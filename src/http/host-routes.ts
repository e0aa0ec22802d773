import type { FastifyInstance } from 'fastify';
import { maintenanceState } from '../domain/maintenance-state';
import type { HttpDeps } from './http-deps';
import { errors, jsonSchema } from './openapi';
import { parseOr400, positiveIntParam } from './query-schema';
import { z } from 'zod';

const window = { type: 'object', nullable: true, properties: { start: { type: 'string', format: 'date-time' }, end: { type: 'string', format: 'date-time' } } };
const stateSchema = {
  type: 'object',
  properties: {
    host_id: { type: 'integer' },
    in_window: { type: 'boolean' },
    window,
    remaining_seconds: { type: 'integer' },
    next_window: window,
    status: { type: 'string', nullable: true },
  },
};

/**
 * `GET /v1/hosts/:id/maintenance` (admin token): is the host in its maintenance window now, for how long, and
 * when is the next one (for alerting and patching tools that suppress alerts during the window).
 */
export function hostRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const schema = {
    tags: ['hosts'],
    summary: 'Is the host in its maintenance window now, for how long, and the next one',
    security: [{ admin: [] }],
    params: jsonSchema(z.object({ id: positiveIntParam })),
    response: { 200: stateSchema, ...errors(400, 401) },
  };
  app.get<{ Params: { id: string } }>('/v1/hosts/:id/maintenance', { config: { auth: 'admin' }, schema }, async (req) => {
    const hostId = parseOr400(positiveIntParam, req.params.id, 'id');
    const { remediations } = await deps.store.list({ hostId, limit: 1000 });
    return maintenanceState(hostId, remediations, deps.clock.now());
  });
}
