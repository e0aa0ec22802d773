import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { REMEDIATION_STATUSES, toView, type Remediation } from '../domain/remediation';
import type { AdminResult } from '../services/admin-service';
import { InvalidCursorError, decodeListCursor } from '../store/remediation-store';
import { HttpError, invalidInput, invalidState, notFound, unavailable } from './errors';
import type { HttpDeps } from './http-deps';
import { errors, jsonSchema, lifecycleEventSchema, remediationSchema } from './openapi';
import { isoInstantParam, limitParam, parseOr400, positiveIntParam, remediationIdParam, strictQuery } from './query-schema';

const listQuery = strictQuery({
  host_id: positiveIntParam.optional(),
  email: z.email({ error: 'must be an email address' }).optional(),
  status: z.enum(REMEDIATION_STATUSES as [string, ...string[]], { error: `must be one of ${REMEDIATION_STATUSES.join(', ')}` }).optional(),
  team_id: positiveIntParam.optional(),
  policy_id: positiveIntParam.optional(),
  from: isoInstantParam.optional(),
  to: isoInstantParam.optional(),
  limit: limitParam(1000).optional(),
  cursor: z.string().max(200, 'must be a cursor this API returned').optional(),
});

const cancelBody = z.strictObject(
  { reason: z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').max(1000, 'must be at most 1000 characters').optional() },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.join(', ')}` : 'must be an object') },
);

const rescheduleBody = z.strictObject(
  { start: isoInstantParam },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.join(', ')}` : 'must be an object') },
);

/**
 * Remediations (admin token): `GET /v1/remediations` (filters, cursor pages, newest first), `GET /v1/remediations/:id`
 * (with its history), and the admin actions `redeliver`, `cancel`, `fire-now`, `reschedule`.
 */
export function remediationRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const config = { auth: 'admin' as const };
  const tags = ['remediations'];
  const security = [{ admin: [] }];
  const idParams = jsonSchema(z.object({ id: remediationIdParam }));
  const withCalendar = {
    ...remediationSchema,
    properties: { ...remediationSchema.properties, calendar_event: { type: 'string', enum: ['removed', 'ended', 'moved', 'none'] } },
  };
  const action = (summary: string, body?: z.ZodType) => ({
    config,
    schema: { tags, summary, security, params: idParams, ...(body ? { body: jsonSchema(body) } : {}), response: { 200: withCalendar, ...errors(400, 401, 404, 409, 503) } },
  });

  app.get(
    '/v1/remediations',
    {
      config,
      schema: {
        tags,
        summary: 'Remediations, newest first, a page at a time',
        security,
        querystring: jsonSchema(listQuery),
        response: {
          200: { type: 'object', properties: { remediations: { type: 'array', items: remediationSchema }, next: { type: 'string', nullable: true } } },
          ...errors(400, 401),
        },
      },
    },
    async (req) => {
      const q = parseOr400(listQuery, req.query, '(query)');
      if (q.cursor) {
        try {
          decodeListCursor(q.cursor);
        } catch (err) {
          if (err instanceof InvalidCursorError) throw invalidInput('cursor', err.message);
          throw err;
        }
      }
      const from = q.from ? Date.parse(q.from) : undefined;
      const to = q.to ? Date.parse(q.to) : undefined;
      if (from !== undefined && to !== undefined && to <= from) throw invalidInput('to', 'must be after from');
      const page = await deps.store.list({
        hostId: q.host_id,
        email: q.email,
        status: q.status as Remediation['status'] | undefined,
        teamId: q.team_id,
        policyId: q.policy_id,
        from,
        to,
        limit: q.limit ?? 1000,
        cursor: q.cursor,
      });
      return { remediations: page.remediations.map(toView), next: page.next };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/remediations/:id',
    {
      config,
      schema: {
        tags,
        summary: 'A remediation with its history (events, oldest first)',
        security,
        params: idParams,
        response: {
          200: { ...remediationSchema, properties: { ...remediationSchema.properties, history: { type: 'array', items: lifecycleEventSchema } } },
          ...errors(400, 401, 404),
        },
      },
    },
    async (req) => {
      const id = parseOr400(remediationIdParam, req.params.id, 'id');
      const r = await deps.store.get(id);
      if (!r) throw notFound(`no remediation ${id}`);
      return { ...toView(r), history: await deps.store.history(id) };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/remediations/:id/redeliver',
    {
      config,
      schema: {
        tags,
        summary: 'The resolution webhook again: same body bytes, new webhook-id',
        security,
        params: idParams,
        response: {
          202: { type: 'object', properties: { remediation: { type: 'string' }, delivery: { type: 'integer' }, webhook_id: { type: 'string' } } },
          ...errors(400, 401, 404, 409, 503),
        },
      },
    },
    async (req, reply) => {
      const id = parseOr400(remediationIdParam, req.params.id, 'id');
      if (!deps.redeliver) throw unavailable('redelivery');
      let result;
      try {
        result = await deps.redeliver(id);
      } catch (err) {
        deps.logger.error({ remediation: id, err: (err as Error).message }, 'could not enqueue the redelivery');
        throw unavailable('the queue');
      }
      if (result.kind === 'not_found') throw notFound(`no remediation ${id}`);
      if (result.kind === 'nothing_to_redeliver') throw new HttpError('NOTHING_TO_REDELIVER', result.reason);
      return reply.status(202).send({ remediation: id, delivery: result.deliveryNumber, webhook_id: result.webhookId });
    },
  );

  app.post<{ Params: { id: string } }>('/v1/remediations/:id/cancel', action('Cancel: the future event is deleted, the owner’s next host booked', cancelBody), async (req) => {
    const id = parseOr400(remediationIdParam, req.params.id, 'id');
    const body = parseOr400(cancelBody, req.body ?? {}, '(body)');
    return adminAction(deps, id, 'cancel', (a) => a.cancel(id, body.reason ?? 'cancelled by an admin'));
  });

  app.post<{ Params: { id: string } }>('/v1/remediations/:id/fire-now', action('The resolution webhook now; the booked event is removed'), async (req) => {
    const id = parseOr400(remediationIdParam, req.params.id, 'id');
    return adminAction(deps, id, 'fire-now', (a) => a.fireNow(id));
  });

  app.post<{ Params: { id: string } }>('/v1/remediations/:id/reschedule', action('Move the window to a future start (the event is patched)', rescheduleBody), async (req) => {
    const id = parseOr400(remediationIdParam, req.params.id, 'id');
    const body = parseOr400(rescheduleBody, req.body ?? {}, '(body)');
    const start = Date.parse(body.start);
    if (!(start > deps.clock.now())) throw invalidInput('start', 'must be in the future');
    return adminAction(deps, id, 'reschedule', (a) => a.reschedule(id, start));
  });
}

/** Runs an admin action: 200 with the remediation (and what became of its calendar event), 404, 409 or 503. */
async function adminAction(
  deps: HttpDeps,
  id: string,
  action: string,
  run: (admin: NonNullable<HttpDeps['admin']>) => Promise<AdminResult>,
): Promise<unknown> {
  if (!deps.admin) throw unavailable(action);
  let result: AdminResult;
  try {
    result = await run(deps.admin);
  } catch (err) {
    // The details (a lock timeout, the calendar's own error) go to the log, not to the client.
    deps.logger.error({ remediation: id, action, err: (err as Error).message }, 'admin action failed');
    throw unavailable(`${action} of ${id}`);
  }
  if (result.kind === 'not_found') throw notFound(`no remediation ${id}`);
  if (result.kind === 'conflict') throw invalidState(`remediation ${id} is ${result.status ?? 'in another state'}: ${result.reason}`);
  return { ...toView(result.remediation), calendar_event: result.calendar ?? 'none' };
}
