import type { FastifyInstance } from 'fastify';
import type { NotificationVerdict, PushNotification } from '../services/calendar-watch-service';
import { unavailable } from './errors';
import type { HttpDeps } from './http-deps';

/**
 * `POST /v1/google/notifications`: Google's push notifications (empty body, X-Goog-* headers). Answers 204 fast
 * whatever we make of it; only a failure on our side answers 503, so that Google retries.
 */
export function googleRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.post('/v1/google/notifications', async (req, reply) => {
    const header = (name: string) => {
      const v = req.headers[name];
      return typeof v === 'string' ? v.slice(0, 512) : undefined;
    };
    const n: PushNotification = {
      channelId: header('x-goog-channel-id'),
      token: header('x-goog-channel-token'),
      resourceId: header('x-goog-resource-id'),
      resourceState: header('x-goog-resource-state'),
      messageNumber: header('x-goog-message-number'),
    };
    let verdict: NotificationVerdict;
    try {
      verdict = await deps.notify(n);
    } catch (err) {
      deps.logger.error({ err: (err as Error).message, channel: n.channelId }, 'push notification not handled');
      throw unavailable('notification handling');
    }
    if (verdict.kind === 'ignored' && verdict.reason !== 'sync message') {
      deps.logger.warn({ channel: n.channelId, state: n.resourceState, reason: verdict.reason, owner: verdict.owner }, 'push notification ignored');
    }
    return reply.status(204).send();
  });
}
