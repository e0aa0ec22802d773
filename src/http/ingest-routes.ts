import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { fleetFailingPoliciesSchema, fleetWebhookToEvents, parseFleetFailingPolicies, parsePolicyEvents, policyEventSchema, type PolicyEvent } from '../ingest/policy-event';
import { invalidInput, unavailable } from './errors';
import { errors, jsonSchema } from './openapi';

const accepted = { description: 'Stored on the policy-events queue', type: 'object', properties: { accepted: { type: 'integer' } } };
import type { HttpDeps } from './http-deps';

/** `POST /v1/policy-events` and `POST /v1/fleet/failing-policies`: authenticate, validate, enqueue, 202. */
export function ingestRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const accept = async (events: PolicyEvent[], source: string) => {
    try {
      await deps.enqueue(events);
    } catch (err) {
      deps.logger.error({ err: (err as Error).message, source, events: events.length }, 'could not enqueue policy events');
      throw unavailable('the queue');
    }
    deps.logger.info(
      { source, accepted: events.length, hosts: [...new Set(events.map((e) => e.host.id))].slice(0, 20) },
      'policy events accepted',
    );
    return { accepted: events.length };
  };

  app.post(
    '/v1/policy-events',
    {
      config: { auth: 'ingest' },
      schema: {
        tags: ['ingest'],
        summary: 'One policy event or an array of up to 1000',
        security: [{ ingest: [] }],
        body: jsonSchema(z.union([policyEventSchema, z.array(policyEventSchema).max(1000)])),
        response: { 202: accepted, ...errors(400, 401, 413, 503) },
      },
    },
    async (req, reply) => {
      const parsed = parsePolicyEvents(req.body);
      if (!parsed.ok) throw invalidInput(parsed.field, parsed.message);
      return reply.status(202).send(await accept(parsed.value, 'policy-events'));
    },
  );

  // Fleet's webhook cannot send an Authorization header: the ingest token is accepted as `?token=` here (only here).
  app.post(
    '/v1/fleet/failing-policies',
    {
      config: { auth: 'ingest', queryToken: true },
      schema: {
        tags: ['ingest'],
        summary: 'Fleet’s failing-policies webhook, exactly as Fleet sends it',
        description: 'Fleet cannot add an Authorization header: the ingest token may come as `?token=` on this route only.',
        security: [{ ingest: [] }],
        querystring: jsonSchema(z.looseObject({ token: z.string().optional().describe('The ingest token (URL-encoded), when no Authorization header is sent') })),
        body: jsonSchema(fleetFailingPoliciesSchema),
        response: { 202: accepted, ...errors(400, 401, 413, 503) },
      },
    },
    async (req, reply) => {
      const parsed = parseFleetFailingPolicies(req.body);
      if (!parsed.ok) throw invalidInput(parsed.field, parsed.message);
      return reply.status(202).send(await accept(fleetWebhookToEvents(parsed.value), 'fleet'));
    },
  );
}
