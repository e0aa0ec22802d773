/**
 * The emulator's HTTP face (Fastify): Google's token endpoint and the Calendar v3 routes, with auth, scopes,
 * injected faults, Google's error bodies and call accounting around every handler.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { CallLog } from './call-log';
import type { EventLister } from './event-list';
import { parseEventBody } from './event-resource';
import type { FaultInjector } from './faults';
import { installLoadModel, type LoadModel } from './load-model';
import { queryFreeBusy } from './free-busy';
import { errorForStatus, GoogleApiError, notFound, OAuthError, oauthErrorForStatus, parseError } from './google-errors';
import { single, type Query } from './query-params';
import { requireScope } from './scopes';
import { TokenService, type AccessToken } from './token-endpoint';
import type { EmulatorLogger, EmulatorMethod } from './types';
import type { UserCalendar, UserDirectory } from './user-directory';
import type { WatchChannels } from './watch-channels';

export interface EmulatorServices {
  directory: UserDirectory;
  tokens: TokenService;
  faults: FaultInjector;
  calls: CallLog;
  lister: EventLister;
  channels: WatchChannels;
  now: () => number;
  tokenUrl: () => string;
  /** Aborted when the emulator closes: injected delays end early. */
  shutdown: AbortSignal;
  logger?: EmulatorLogger;
  /** Benchmark load conditions (latency, quotas, counters); none: the emulator answers at once, unlimited. */
  load?: LoadModel;
}

/** What the call log needs to know about a request, filled in as it is handled. */
interface CallInfo {
  method: EmulatorMethod;
  owner?: string;
  quotaUser?: string;
}

interface ApiContext {
  token: AccessToken;
  /** The impersonated user's own calendar. */
  calendar: UserCalendar;
}

type ApiRequest = FastifyRequest<{ Params: Record<string, string>; Querystring: Query; Body: unknown }>;
type ApiHandler = (ctx: ApiContext, req: ApiRequest, reply: FastifyReply) => unknown;

const V3 = '/calendar/v3';

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

function parseJsonBody(_req: FastifyRequest, body: string, done: (err: Error | null, body?: unknown) => void): void {
  if (body.trim() === '') return done(null, undefined);
  try {
    done(null, JSON.parse(body));
  } catch {
    done(parseError());
  }
}

/** The calendar a path's calendarId names: "primary" or the user's own address; any other is 404 notFound. */
function ownCalendar(ctx: ApiContext, calendarId: string): UserCalendar {
  if (calendarId === 'primary' || calendarId.toLowerCase() === ctx.calendar.email) return ctx.calendar;
  throw notFound();
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function buildServer(s: EmulatorServices): FastifyInstance {
  // Closing the emulator drops every connection at once (a client's half-open socket must not hold it open).
  const app = Fastify({ logger: false, forceCloseConnections: true });
  const requests = new WeakMap<FastifyRequest, CallInfo>();
  if (s.load) installLoadModel(app, s.load, (req) => requests.get(req), s.shutdown);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJsonBody);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );
  app.addContentTypeParser('*', { parseAs: 'string' }, parseJsonBody);

  app.addHook('onSend', async (req, reply, payload) => {
    const info = requests.get(req);
    if (info) {
      s.calls.record({ ...info, status: reply.statusCode, at: s.now(), peerPort: req.socket.remotePort });
      s.logger?.debug?.({ ...info, status: reply.statusCode }, 'calendar emulator served a request');
    }
    return payload;
  });

  app.setErrorHandler((err: FastifyError | GoogleApiError | OAuthError, req, reply) => {
    if (err instanceof OAuthError) return reply.code(err.status).send(err.body());
    let apiErr: GoogleApiError;
    if (err instanceof GoogleApiError) apiErr = err;
    else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) apiErr = errorForStatus(err.statusCode);
    else {
      s.logger?.warn({ err: String(err), url: req.url }, 'calendar emulator failed on a request');
      apiErr = errorForStatus(500);
    }
    if (apiErr.status === 401) reply.header('www-authenticate', 'Bearer realm="https://accounts.google.com/", error="invalid_token"');
    return reply.code(apiErr.status).send(apiErr.body());
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send(notFound().body()));

  /** Injected faults: an optional delay, then (for status >= 400) the error instead of the answer. */
  async function applyFault(method: EmulatorMethod, owner: string | undefined): Promise<void> {
    const fault = s.faults.take(method, owner);
    if (!fault) return;
    if (fault.delayMs) await delay(fault.delayMs, s.shutdown);
    if (fault.status < 400) return;
    throw method === 'token' ? oauthErrorForStatus(fault.status, fault.reason, fault.message) : errorForStatus(fault.status, fault.reason, fault.message);
  }

  function track(req: FastifyRequest, method: EmulatorMethod): CallInfo {
    const info: CallInfo = { method };
    const quotaUser = single(req.query as Query, 'quotaUser');
    if (quotaUser !== undefined) info.quotaUser = quotaUser;
    requests.set(req, info);
    return info;
  }

  const contexts = new WeakMap<FastifyRequest, ApiContext>();

  /** A Calendar API route: auth (401), scope (403) and faults before the body is even parsed, like Google. */
  function api(httpMethod: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, method: EmulatorMethod, handler: ApiHandler): void {
    app.route<{ Params: Record<string, string>; Querystring: Query; Body: unknown }>({
      method: httpMethod,
      url: V3 + url,
      onRequest: async (req) => {
        const info = track(req, method);
        const token = s.tokens.authenticate(header(req, 'authorization'));
        info.owner = token.subject;
        requireScope(method, token.scopes);
        await applyFault(method, token.subject);
        const calendar = s.directory.get(token.subject);
        if (!calendar) throw errorForStatus(401);
        contexts.set(req, { token, calendar });
      },
      handler: async (req, reply) => {
        const ctx = contexts.get(req);
        if (!ctx) throw errorForStatus(401);
        return handler(ctx, req, reply);
      },
    });
  }

  app.post('/token', {
    onRequest: async (req) => void track(req, 'token'),
    handler: async (req) => {
      const info = requests.get(req) ?? track(req, 'token');
      const decoded = s.tokens.parseRequest(req.body);
      info.owner = TokenService.principal(decoded)?.toLowerCase();
      await applyFault('token', info.owner);
      return s.tokens.issue(decoded, s.tokenUrl());
    },
  });

  api('GET', '/users/me/settings/:setting', 'settings.get', ({ calendar }, req) => {
    if (calendar.settingsError) throw errorForStatus(calendar.settingsError, calendar.settingsError === 403 ? 'forbidden' : undefined);
    if (req.params.setting !== 'timezone') throw notFound();
    return {
      kind: 'calendar#setting',
      etag: `"${Buffer.from(calendar.timeZone).toString('hex').slice(0, 16)}"`,
      id: 'timezone',
      value: calendar.timeZone,
    };
  });

  api('GET', '/calendars/:calendarId', 'calendars.get', (ctx, req) => {
    const calendar = ownCalendar(ctx, req.params.calendarId);
    return {
      kind: 'calendar#calendar',
      etag: `"p${calendar.events.changeSeq.toString(32).padStart(8, '0')}"`,
      id: calendar.email,
      summary: calendar.email,
      timeZone: calendar.timeZone,
      conferenceProperties: { allowedConferenceSolutionTypes: ['hangoutsMeet'] },
    };
  });

  api('POST', '/freeBusy', 'freebusy.query', (ctx, req) => queryFreeBusy(req.body, ctx.calendar, s.directory));

  const events = '/calendars/:calendarId/events';
  api('GET', events, 'events.list', (ctx, req) => s.lister.list(ownCalendar(ctx, req.params.calendarId), req.query));
  api('POST', events, 'events.insert', (ctx, req) => ownCalendar(ctx, req.params.calendarId).events.insert(parseEventBody(req.body)));
  api('POST', `${events}/watch`, 'events.watch', (ctx, req) =>
    s.channels.watch(ownCalendar(ctx, req.params.calendarId), req.params.calendarId, req.body),
  );
  api('GET', `${events}/:eventId`, 'events.get', (ctx, req, reply) => {
    const event = ownCalendar(ctx, req.params.calendarId).events.get(req.params.eventId);
    if (header(req, 'if-none-match') === event.etag) return reply.code(304).send();
    return event;
  });
  api('PATCH', `${events}/:eventId`, 'events.patch', (ctx, req) =>
    ownCalendar(ctx, req.params.calendarId).events.patch(req.params.eventId, parseEventBody(req.body), header(req, 'if-match')),
  );
  api('PUT', `${events}/:eventId`, 'events.update', (ctx, req) =>
    ownCalendar(ctx, req.params.calendarId).events.update(req.params.eventId, parseEventBody(req.body), header(req, 'if-match')),
  );
  api('DELETE', `${events}/:eventId`, 'events.delete', (ctx, req, reply) => {
    ownCalendar(ctx, req.params.calendarId).events.delete(req.params.eventId, header(req, 'if-match'));
    return reply.code(204).send();
  });
  api('POST', '/channels/stop', 'channels.stop', (_ctx, req, reply) => {
    s.channels.stop(req.body);
    return reply.code(204).send();
  });

  return app;
}
