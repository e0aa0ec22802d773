import type { FastifyInstance } from 'fastify';
import { fleetWebhookToEvents, parseFleetFailingPolicies, parsePolicyEvents, type PolicyEvent } from '../ingest/policy-event';
import { invalidInput, unavailable } from './errors';
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

  app.post('/v1/policy-events', { config: { auth: 'ingest' } }, async (req, reply) => {
    const parsed = parsePolicyEvents(req.body);
    if (!parsed.ok) throw invalidInput(parsed.field, parsed.message);
    return reply.status(202).send(await accept(parsed.value, 'policy-events'));
  });

  app.post('/v1/fleet/failing-policies', { config: { auth: 'ingest' } }, async (req, reply) => {
    const parsed = parseFleetFailingPolicies(req.body);
    if (!parsed.ok) throw invalidInput(parsed.field, parsed.message);
    return reply.status(202).send(await accept(fleetWebhookToEvents(parsed.value), 'fleet'));
  });
}
