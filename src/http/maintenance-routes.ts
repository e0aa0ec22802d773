import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from './http-deps';
import { notFound } from './errors';
import { errors } from './openapi';

const nullableString = { type: 'string', nullable: true };

/** One scope's rules in force (MAINTENANCE_CONFIG_FILE's field names), every field filled in. */
export const maintenanceRulesSchema = {
  type: 'object',
  properties: {
    window: {
      type: 'object',
      properties: { rrule: { type: 'string' }, start: { type: 'string' }, end: { type: 'string' }, slot_minutes: { type: 'integer' } },
    },
    rebook_rrule: { type: 'string' },
    time_zone: { type: 'string' },
    fallback_time_zone: { type: 'string' },
    blackout_dates: { type: 'array', items: { type: 'string' } },
    deadline_days: { type: 'integer', nullable: true },
    max_deferrals: { type: 'integer', nullable: true },
    resolution_webhook_url: nullableString,
    event: { type: 'object', properties: { title: { type: 'string' }, description: nullableString } },
  },
};

const configSchema = {
  type: 'object',
  properties: {
    file: nullableString,
    defaults: maintenanceRulesSchema,
    teams: { type: 'object', additionalProperties: maintenanceRulesSchema },
    policies: { type: 'object', additionalProperties: maintenanceRulesSchema },
  },
};

/**
 * `GET /v1/maintenance-config` (admin token): the maintenance configuration in force (MAINTENANCE_CONFIG_FILE as
 * last loaded, at start or by SIGHUP), defaults filled in; `file` null = no file, today's rules.
 */
export function maintenanceRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const schema = {
    tags: ['maintenance'],
    summary: 'The maintenance configuration in force, defaults filled in',
    security: [{ admin: [] }],
    response: { 200: configSchema, ...errors(401, 404) },
  };
  app.get('/v1/maintenance-config', { config: { auth: 'admin' }, schema }, async () => {
    if (!deps.maintenanceConfig) throw notFound('no maintenance configuration in this daemon');
    return deps.maintenanceConfig();
  });
}
