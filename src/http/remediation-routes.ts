import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { toView } from '../domain/remediation';
import { sameSecret } from '../lib/secrets';
import { HttpError, invalidInput, unauthorized, unavailable } from './errors';
import type { HttpDeps } from './http-deps';

const STATUSES = ['unassigned', 'queued', 'pending', 'booked', 'firing', 'fired', 'delivery_failed', 'resolved'] as const;

const remediationQuery = z.strictObject(
  {
    host_id: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').positive('must be positive').optional(),
    email: z.email({ error: 'must be an email address' }).optional(),
    status: z.enum(STATUSES, { error: `must be one of ${STATUSES.join(', ')}` }).optional(),
    limit: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1).max(1000).optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown parameter ${issue.keys.join(', ')}` : 'must be an object') },
);

const remediationId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a remediation id like h42-1');

/**
 * `GET /v1/remediations?host_id=&email=&status=&limit=`: newest first.
 * `POST /v1/remediations/:id/redeliver`: the resolution webhook again (same payload, new delivery): 202, 404
 * unknown id, 409 nothing to redeliver (not fired yet, or a delivery in progress). Needs the ingest token when
 * one is set: it triggers the fix on a laptop.
 */
export function remediationRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const requireToken = async (req: FastifyRequest) => {
    if (!deps.ingestToken) return;
    const match = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
    if (!match || !sameSecret(match[1], deps.ingestToken)) throw unauthorized();
  };

  app.post<{ Params: { id: string } }>('/v1/remediations/:id/redeliver', { onRequest: requireToken }, async (req, reply) => {
    const id = remediationId.safeParse(req.params.id);
    if (!id.success) throw invalidInput('id', id.error.issues[0].message);
    if (!deps.redeliver) throw unavailable('redelivery');
    let result;
    try {
      result = await deps.redeliver(id.data);
    } catch (err) {
      deps.logger.error({ remediation: id.data, err: (err as Error).message }, 'could not enqueue the redelivery');
      throw unavailable('the queue');
    }
    if (result.kind === 'not_found') throw new HttpError(404, 'NOT_FOUND', `no remediation ${id.data}`);
    if (result.kind === 'nothing_to_redeliver') throw new HttpError(409, 'NOTHING_TO_REDELIVER', result.reason);
    return reply.status(202).send({ remediation: id.data, delivery: result.deliveryNumber, webhook_id: result.webhookId });
  });

  app.get('/v1/remediations', async (req) => {
    const q = remediationQuery.safeParse(req.query);
    if (!q.success) {
      const issue = q.error.issues[0];
      throw invalidInput(issue.path.length ? String(issue.path[0]) : '(query)', issue.message);
    }
    const list = await deps.store.list({ hostId: q.data.host_id, email: q.data.email, status: q.data.status, limit: q.data.limit });
    return { remediations: list.map(toView) };
  });
}
