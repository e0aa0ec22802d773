import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from './http-deps';
import { z } from 'zod';
import { OwnerUnavailableError } from '../ports/calendar';
import { PreviewUnavailableError } from '../services/preview-service';
import { HttpError, invalidInput, notFound } from './errors';
import { errors, jsonSchema } from './openapi';
import { parseOr400, positiveIntParam, strictQuery } from './query-schema';

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

const previewQuery = strictQuery({
  email: z.email({ error: 'must be an email address' }),
  team_id: positiveIntParam.optional(),
  policy_ids: z
    .string()
    .regex(/^\d{1,10}(,\d{1,10}){0,99}$/, 'must be policy ids separated by commas, e.g. 7,9')
    .transform((v) => [...new Set(v.split(',').map(Number))])
    .optional(),
});

const previewSchema = {
  type: 'object',
  properties: {
    time_zone: { type: 'string' },
    rules: maintenanceRulesSchema,
    day: { type: 'string', format: 'date' },
    slot: { type: 'object', properties: { start: { type: 'string', format: 'date-time' }, end: { type: 'string', format: 'date-time' } } },
    only_time_left: { type: 'boolean' },
    reason: { type: 'string', nullable: true },
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
  const previewRoute = {
    tags: ['maintenance'],
    summary: 'Where a window would land now for an owner, team and failing policies (asks freeBusy, books nothing)',
    security: [{ admin: [] }],
    querystring: jsonSchema(previewQuery),
    response: { 200: previewSchema, ...errors(400, 401, 404, 503) },
  };
  app.get('/v1/preview', { config: { auth: 'admin' }, schema: previewRoute }, async (req) => {
    const q = parseOr400(previewQuery, req.query, '(query)');
    if (!deps.preview) throw notFound('no preview in this daemon');
    try {
      return await deps.preview({ email: q.email.trim().toLowerCase(), teamId: q.team_id ?? null, policyIds: q.policy_ids ?? [] });
    } catch (err) {
      if (err instanceof OwnerUnavailableError) throw invalidInput('email', `the calendar of ${q.email} cannot be used: ${err.message}`);
      if (err instanceof PreviewUnavailableError) throw new HttpError('UNAVAILABLE', err.message);
      throw err;
    }
  });
  app.get('/v1/maintenance-config', { config: { auth: 'admin' }, schema }, async () => {
    if (!deps.maintenanceConfig) throw notFound('no maintenance configuration in this daemon');
    return deps.maintenanceConfig();
  });
}
