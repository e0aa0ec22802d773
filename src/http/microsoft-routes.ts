import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { CalendarNotification } from '../ports/calendar';
import type { NotificationVerdict } from '../services/calendar-watch-service';
import { unavailable } from './errors';
import type { HttpDeps } from './http-deps';
import { errors } from './openapi';
import { parseOr400 } from './query-schema';

/**
 * Microsoft Graph's change and lifecycle notifications:
 *
 * - `POST /v1/microsoft/notifications` (the subscription's notificationUrl) and `POST /v1/microsoft/lifecycle`
 *   (its lifecycleNotificationUrl).
 * - The validation handshake, before Graph creates or renews a subscription: `?validationToken=…` → 200 text/plain
 *   with the decoded token, exactly, within 10 s.
 * - A notification batch `{value: [...]}`: each item is handed over as a CalendarNotification (the watch service
 *   checks its subscription id and clientState, then enqueues a sync or a channel round), then 202. Graph wants an
 *   answer within 3 s (slower endpoints are throttled, then dropped): when the items cannot be stored within
 *   `answerWithinMs`, or storing failed, 503 so that Graph delivers them again.
 *
 * The `resource` of a notification (`Users/{id}/Events/{id}`) names the event, not the subscription's resource, so
 * it is not compared: the subscription id and its clientState identify the sender.
 */

/** Graph answers within 3 s or throttles the endpoint; we keep a margin for the network. */
export const GRAPH_ANSWER_WITHIN_MS = 2500;

export interface MicrosoftRoutesOptions {
  /** Default GRAPH_ANSWER_WITHIN_MS. */
  answerWithinMs?: number;
}

const MAX_VALIDATION_TOKEN = 1024;
const MAX_ITEMS = 1000;
const shortString = (max: number) => z.string({ error: 'must be a string' }).max(max, `must be at most ${max} characters`);

const changeItem = z.object({
  subscriptionId: shortString(200).min(1, 'must not be empty'),
  clientState: shortString(256).nullish(),
  changeType: shortString(64).optional(),
  resource: shortString(2048).optional(),
});

const lifecycleItem = changeItem.extend({
  lifecycleEvent: z.enum(['reauthorizationRequired', 'missed', 'subscriptionRemoved'], {
    error: 'must be reauthorizationRequired, missed or subscriptionRemoved',
  }),
});

const batch = <T extends z.ZodType>(item: T) =>
  z.object(
    { value: z.array(item, { error: 'must be an array' }).min(1, 'must hold at least one notification').max(MAX_ITEMS, `must hold at most ${MAX_ITEMS} notifications`) },
    { error: 'must be a JSON object' },
  );
const changeBatch = batch(changeItem);
const lifecycleBatch = batch(lifecycleItem);

const LIFECYCLE_KIND = {
  reauthorizationRequired: 'reauthorize',
  missed: 'missed',
  subscriptionRemoved: 'removed',
} as const satisfies Record<z.infer<typeof lifecycleItem>['lifecycleEvent'], CalendarNotification['kind']>;

const schema = (summary: string) => ({
  tags: ['calendar'],
  summary,
  querystring: { type: 'object', properties: { validationToken: { type: 'string' } } },
  response: {
    200: { description: 'The validation handshake: the decoded validationToken as text/plain', type: 'string' },
    202: { description: 'Every notification stored (whatever was made of it)', type: 'null' },
    ...errors(400, 503),
  },
});

export function microsoftRoutes(app: FastifyInstance, deps: HttpDeps, opts: MicrosoftRoutesOptions = {}): void {
  const answerWithinMs = opts.answerWithinMs ?? GRAPH_ANSWER_WITHIN_MS;

  /** Hands the notifications over, all within the answer time, or throws (→ 503, Graph retries the batch). */
  async function accept(notifications: CalendarNotification[], route: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), answerWithinMs)));
    let verdicts: NotificationVerdict[] | 'late';
    try {
      verdicts = await Promise.race([Promise.all(notifications.map((n) => deps.notify(n))), late]);
    } catch (err) {
      deps.logger.error({ err: (err as Error).message, route, notifications: notifications.length }, 'Graph notifications not handled');
      throw unavailable('notification handling');
    } finally {
      clearTimeout(timer);
    }
    if (verdicts === 'late') {
      deps.logger.error({ route, notifications: notifications.length, answerWithinMs }, 'Graph notifications not stored in time: answered 503 so that Graph delivers them again');
      throw unavailable('notification handling');
    }
    verdicts.forEach((verdict, i) => {
      const n = notifications[i];
      if (verdict.kind === 'ignored') deps.logger.warn({ subscription: n.subscriptionId, kind: n.kind, reason: verdict.reason, owner: verdict.owner }, 'Graph notification ignored');
    });
  }

  /** The handshake answer when the request is one; null otherwise. */
  function handshake(query: unknown, reply: FastifyReply): FastifyReply | null {
    const token = (query as { validationToken?: unknown } | undefined)?.validationToken;
    if (token === undefined) return null;
    const value = parseOr400(shortString(MAX_VALIDATION_TOKEN).min(1, 'must not be empty'), token, 'validationToken');
    // Fastify has decoded the query string: the answer is the token itself, as plain text.
    return reply.status(200).type('text/plain; charset=utf-8').send(value);
  }

  app.post('/v1/microsoft/notifications', { schema: schema('Microsoft Graph change notifications (and their validation handshake)') }, async (req, reply) => {
    const answered = handshake(req.query, reply);
    if (answered) return answered;
    const body = parseOr400(changeBatch, req.body, 'body');
    await accept(
      body.value.map((item) => ({ subscriptionId: item.subscriptionId, secret: item.clientState ?? undefined, kind: 'changed' })),
      'notifications',
    );
    return reply.status(202).send();
  });

  app.post('/v1/microsoft/lifecycle', { schema: schema('Microsoft Graph lifecycle notifications (reauthorizationRequired, missed, subscriptionRemoved)') }, async (req, reply) => {
    const answered = handshake(req.query, reply);
    if (answered) return answered;
    const body = parseOr400(lifecycleBatch, req.body, 'body');
    await accept(
      body.value.map((item) => ({ subscriptionId: item.subscriptionId, secret: item.clientState ?? undefined, kind: LIFECYCLE_KIND[item.lifecycleEvent] })),
      'lifecycle',
    );
    return reply.status(202).send();
  });
}
