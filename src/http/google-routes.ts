import type { FastifyInstance } from 'fastify';
import type { CalendarNotification } from '../ports/calendar';
import type { NotificationVerdict } from '../services/calendar-watch-service';
import { unavailable } from './errors';
import type { HttpDeps } from './http-deps';
import { errors } from './openapi';

/**
 * `POST /v1/google/notifications`: Google's push notifications (empty body, X-Goog-* headers), parsed into a
 * CalendarNotification: X-Goog-Resource-State `sync` (a new channel's first message) is the handshake, any other
 * state a change. Answers 204 fast whatever we make of it; only a failure on our side answers 503, so that Google
 * retries.
 */
export function googleRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const schema = {
    tags: ['calendar'],
    summary: 'Google Calendar push notifications (X-Goog-* headers, empty body)',
    response: { 204: { description: 'Taken (whatever was made of it)', type: 'null' }, ...errors(503) },
  };
  app.post('/v1/google/notifications', { schema }, async (req, reply) => {
    const header = (name: string) => {
      const v = req.headers[name];
      return typeof v === 'string' ? v.slice(0, 512) : undefined;
    };
    const state = header('x-goog-resource-state');
    const n: CalendarNotification = {
      subscriptionId: header('x-goog-channel-id'),
      secret: header('x-goog-channel-token'),
      resource: header('x-goog-resource-id'),
      kind: state === 'sync' ? 'handshake' : 'changed',
    };
    let verdict: NotificationVerdict;
    try {
      verdict = await deps.notify(n);
    } catch (err) {
      deps.logger.error({ err: (err as Error).message, channel: n.subscriptionId }, 'push notification not handled');
      throw unavailable('notification handling');
    }
    if (verdict.kind === 'ignored' && verdict.reason !== 'sync message') {
      deps.logger.warn({ channel: n.subscriptionId, state, reason: verdict.reason, owner: verdict.owner }, 'push notification ignored');
    }
    return reply.status(204).send();
  });
}
