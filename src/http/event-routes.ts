import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { LIFECYCLE_EVENT_TYPES } from '../domain/lifecycle-event';
import { invalidInput } from './errors';
import type { HttpDeps } from './http-deps';
import { errors, jsonSchema, lifecycleEventSchema } from './openapi';
import { limitParam, parseOr400, positiveIntParam, strictQuery } from './query-schema';

const feedQuery = strictQuery({
  after: z.string().regex(/^\d{1,20}-\d{1,20}$/, 'must be a cursor this API returned').optional(),
  type: z.enum(LIFECYCLE_EVENT_TYPES, { error: `must be one of ${LIFECYCLE_EVENT_TYPES.join(', ')}` }).optional(),
  host_id: positiveIntParam.optional(),
  email: z.email({ error: 'must be an email address' }).optional(),
  limit: limitParam(1000).optional(),
});

/**
 * `GET /v1/events?after=&type=&host_id=&email=&limit=` (admin token): the global feed, oldest first from the
 * cursor; `next` is the cursor to continue from (the same one when nothing new has come: poll with it).
 */
export function eventRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const schema = {
    tags: ['events'],
    summary: 'The global feed of lifecycle events, in order, from a cursor',
    security: [{ admin: [] }],
    querystring: jsonSchema(feedQuery),
    response: {
      200: { type: 'object', properties: { events: { type: 'array', items: lifecycleEventSchema }, next: { type: 'string', nullable: true } } },
      ...errors(400, 401),
    },
  };
  app.get('/v1/events', { config: { auth: 'admin' }, schema }, async (req) => {
    const q = parseOr400(feedQuery, req.query, '(query)');
    if (q.after && (await deps.store.feedPosition(q.after)) === 'ahead') {
      throw invalidInput('after', 'is past the newest event: not a cursor this API returned');
    }
    const page = await deps.store.readFeed({ after: q.after, type: q.type, hostId: q.host_id, email: q.email, limit: q.limit ?? 100 });
    return { events: page.events, next: page.next ?? q.after ?? null };
  });
}
