/**
 * The emulator's HTTPS face (Fastify): Entra's token and discovery endpoints and the Graph v1.0 routes, with bearer
 * tokens, application permissions, the per-mailbox concurrency limit, injected faults, Graph's error bodies and
 * headers (request-id, client-request-id, Preference-Applied) and call accounting around every handler.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import type { GraphRole } from './app-registrations';
import type { CallLog } from './call-log';
import { calendarView, eventList } from './calendar-view';
import type { DeltaSync } from './delta-sync';
import { parseEventBody } from './event-body';
import { renderEvent } from './event-resource';
import { expandedPropertyIds } from './extended-properties';
import type { FaultInjector, MailboxConcurrency } from './faults';
import {
  accessDenied,
  EntraError,
  entraErrorForStatus,
  GraphError,
  graphErrorForStatus,
  invalidUser,
  mailboxConcurrency,
  mailboxNotEnabled,
  requestBodyRead,
  tenantNotFound,
  unknownSegment,
} from './graph-errors';
import type { Mailbox, MailboxDirectory } from './mailbox-directory';
import { mailboxSettings } from './mailbox-settings';
import { instanceDiscovery, openIdConfiguration } from './openid-metadata';
import { parsePrefer, type Preferences } from './prefer-header';
import type { Query } from './query';
import { getSchedule } from './schedule';
import type { Subscriptions } from './subscriptions';
import type { Caller, TokenService } from './token-endpoint';
import type { EmulatorLogger, GraphCall, GraphMethod } from './types';

export interface EmulatorServices {
  tls: { key: string; cert: string };
  directory: MailboxDirectory;
  tokens: TokenService;
  faults: FaultInjector;
  concurrency: MailboxConcurrency;
  calls: CallLog;
  delta: DeltaSync;
  subscriptions: Subscriptions;
  scheduleErrors: Map<string, { message: string; responseCode: string }>;
  maxSchedules: number;
  tenantId: string;
  tenantDomain: string;
  now: () => number;
  baseUrl: () => string;
  shutdown: AbortSignal;
  logger?: EmulatorLogger;
}

interface RequestState {
  call: Omit<GraphCall, 'status' | 'at'>;
  requestId: string;
  clientRequestId: string;
  prefs: Preferences;
  caller?: Caller;
  mailbox?: Mailbox;
  userPath?: string;
}

type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Query; Body: unknown }>;
type Handler = (state: Required<Pick<RequestState, 'caller' | 'prefs'>> & RequestState, req: Req, reply: FastifyReply) => unknown;

const READ: GraphRole[] = ['Calendars.Read', 'Calendars.ReadWrite'];
const WRITE: GraphRole[] = ['Calendars.ReadWrite'];
const SETTINGS: GraphRole[] = ['MailboxSettings.Read', 'MailboxSettings.ReadWrite'];
const JSON_TYPE = 'application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8';

const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

function wait(ms: number, signals: AbortSignal[]): Promise<void> {
  return new Promise((resolve) => {
    const signal = AbortSignal.any(signals);
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = ms === Number.POSITIVE_INFINITY ? undefined : setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

export function buildServer(s: EmulatorServices) {
  // Exchange ids are ~150 characters: Fastify's default maxParamLength (100) would answer 414.
  const app = Fastify({ logger: false, forceCloseConnections: true, routerOptions: { maxParamLength: 2048 }, https: { key: s.tls.key, cert: s.tls.cert } });
  const states = new WeakMap<FastifyRequest, RequestState>();

  app.removeAllContentTypeParsers();
  const json = (_req: FastifyRequest, body: string, done: (err: Error | null, body?: unknown) => void) => {
    if (body.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body));
    } catch {
      done(requestBodyRead());
    }
  };
  app.addContentTypeParser('application/json', { parseAs: 'string' }, json);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );
  app.addContentTypeParser('*', { parseAs: 'string' }, json);

  function begin(req: FastifyRequest, method: GraphMethod): RequestState {
    const prefs = parsePrefer(req.headers.prefer);
    const clientRequestId = header(req, 'client-request-id') ?? randomUUID();
    const state: RequestState = {
      call: { method, immutableIds: prefs.immutableIds, ...(prefs.timeZone && { preferTimeZone: prefs.timeZone }), clientRequestId },
      requestId: randomUUID(),
      clientRequestId,
      prefs,
    };
    states.set(req, state);
    return state;
  }

  app.addHook('onSend', async (req, reply, payload) => {
    const state = states.get(req);
    if (state) {
      reply.header('request-id', state.requestId).header('client-request-id', state.clientRequestId);
      reply.header('x-ms-ags-diagnostic', JSON.stringify({ ServerInfo: { DataCenter: 'Emulator', Slice: 'E', Ring: '0', ScaleUnit: '000', RoleInstance: 'GRAPHEMU' } }));
      if (state.prefs.applied.length > 0 && reply.statusCode < 400) reply.header('preference-applied', state.prefs.applied.join(', '));
      s.calls.record({ ...state.call, status: reply.statusCode, at: s.now() });
    }
    return payload;
  });

  app.setErrorHandler((err: FastifyError | GraphError | EntraError, req, reply) => {
    const state = states.get(req);
    if (err instanceof EntraError) return reply.code(err.status).header('cache-control', 'no-store, no-cache').send(err.body(s.now(), state?.clientRequestId));
    let graphErr: GraphError;
    if (err instanceof GraphError) graphErr = err;
    else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) graphErr = graphErrorForStatus(err.statusCode, undefined, err.message);
    else {
      s.logger?.warn({ err: String(err), url: req.url }, 'graph emulator failed on a request');
      graphErr = graphErrorForStatus(500);
    }
    for (const [name, value] of Object.entries(graphErr.headers)) reply.header(name, value);
    if (graphErr.status === 401) {
      reply.header('www-authenticate', 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"');
    }
    return reply.code(graphErr.status).type(JSON_TYPE).send(graphErr.body(state?.requestId ?? randomUUID(), state?.clientRequestId ?? randomUUID(), s.now()));
  });
  app.setNotFoundHandler((req, reply) => {
    if (req.url.startsWith('/v1.0/')) throw unknownSegment(req.url.split('?')[0].split('/').filter(Boolean).pop() ?? '');
    return reply.code(404).send({ error: 'not_found', error_description: `No route ${req.method} ${req.url.split('?')[0]}` });
  });

  /** Faults after auth: a delay or a hang, then (status >= 400) the error instead of the answer. */
  async function applyFault(req: FastifyRequest, method: GraphMethod, mailbox: string | undefined): Promise<void> {
    const fault = s.faults.take(method, mailbox);
    if (!fault) return;
    const clientGone = new AbortController();
    const onClose = () => clientGone.abort();
    req.raw.socket.once('close', onClose);
    try {
      if (fault.hang) await wait(Number.POSITIVE_INFINITY, [s.shutdown, clientGone.signal]);
      else if (fault.delayMs) await wait(fault.delayMs, [s.shutdown, clientGone.signal]);
    } finally {
      req.raw.socket.removeListener('close', onClose);
    }
    const status = fault.hang ? 504 : fault.status;
    if (status === undefined || status < 400) return;
    if (method === 'token') throw entraErrorForStatus(status, fault.code, fault.message);
    throw graphErrorForStatus(status, fault.code, fault.message, fault.retryAfterSeconds);
  }

  function graph(httpMethod: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, method: GraphMethod, roles: GraphRole[], handler: Handler): void {
    app.route<{ Params: Record<string, string>; Querystring: Query; Body: unknown }>({
      method: httpMethod,
      url: `/v1.0${url}`,
      onRequest: async (req, reply) => {
        const state = begin(req, method);
        state.caller = s.tokens.authenticate(header(req, 'authorization'));
        if (!roles.some((r) => state.caller?.roles.has(r))) throw accessDenied();
        const user = (req.params as Record<string, string>).user;
        if (user !== undefined) {
          state.userPath = user; // Fastify has decoded it
          state.mailbox = s.directory.get(user);
          if (!state.mailbox) throw invalidUser(state.userPath);
          if (!state.mailbox.mailboxEnabled) throw mailboxNotEnabled();
          state.call.mailbox = state.mailbox.address;
          const address = state.mailbox.address;
          if (!s.concurrency.enter(address)) throw mailboxConcurrency();
          let released = false;
          reply.raw.once('close', () => {
            if (!released) s.concurrency.leave(address);
            released = true;
          });
        }
        await applyFault(req, method, state.call.mailbox);
      },
      handler: async (req, reply) => {
        const state = states.get(req);
        if (!state?.caller) throw graphErrorForStatus(401);
        reply.type(JSON_TYPE);
        return handler(state as Parameters<Handler>[0], req, reply);
      },
    });
  }

  // ---- Entra ----
  const knownTenant = (tenant: string) => {
    const t = tenant.toLowerCase();
    if (t !== s.tenantId && t !== s.tenantDomain.toLowerCase()) throw tenantNotFound(tenant);
  };

  app.post<{ Params: { tenant: string } }>('/:tenant/oauth2/v2.0/token', async (req, reply) => {
    const state = begin(req, 'token');
    knownTenant(req.params.tenant);
    await applyFault(req, 'token', undefined);
    const form = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, string>;
    const base = s.baseUrl();
    const audiences = [`${base}${s.tenantId}/oauth2/v2.0/token`, `${base}${s.tenantDomain}/oauth2/v2.0/token`, `${base}${req.params.tenant}/oauth2/v2.0/token`];
    const issued = s.tokens.issue(form, audiences, s.tenantDomain);
    return reply.header('cache-control', 'no-store, no-cache').send(issued);
  });
  app.get<{ Params: { tenant: string } }>('/:tenant/v2.0/.well-known/openid-configuration', async (req) => {
    begin(req, 'openid-configuration');
    if (req.params.tenant !== 'common' && req.params.tenant !== 'organizations') knownTenant(req.params.tenant);
    return openIdConfiguration(s.baseUrl(), s.tenantId);
  });
  app.get<{ Params: { tenant: string } }>('/:tenant/discovery/v2.0/keys', async (req) => {
    begin(req, 'jwks');
    return { keys: [s.tokens.jwk()] };
  });
  app.get('/common/discovery/instance', async (req) => {
    begin(req, 'instance-discovery');
    return instanceDiscovery(new URL(s.baseUrl()).host, s.baseUrl());
  });

  // ---- Graph ----
  const render = (st: RequestState) => ({ immutableIds: st.prefs.immutableIds, timeZone: st.prefs.timeZone, bodyContentType: st.prefs.bodyContentType });
  const organizerOf = (m: Mailbox) => ({ address: m.address, displayName: m.displayName });
  const mailboxOf = (st: RequestState): Mailbox => {
    if (!st.mailbox) throw graphErrorForStatus(400);
    return st.mailbox;
  };

  graph('GET', '/users/:user/mailboxSettings', 'mailboxSettings.get', SETTINGS, (st) => mailboxSettings(mailboxOf(st)));
  graph('GET', '/users/:user/mailboxSettings/:segment', 'mailboxSettings.get', SETTINGS, (st, req) => mailboxSettings(mailboxOf(st), req.params.segment));
  graph('POST', '/users/:user/calendar/getSchedule', 'calendar.getSchedule', READ, (st, req) =>
    getSchedule(req.body, s.directory, { maxSchedules: s.maxSchedules, timeZone: st.prefs.timeZone, scheduleErrors: s.scheduleErrors }),
  );

  for (const prefix of ['/users/:user/events', '/users/:user/calendar/events']) {
    graph('GET', prefix, 'events.list', READ, (st, req) =>
      eventList(mailboxOf(st), req.query, { baseUrl: s.baseUrl(), userPath: st.userPath ?? '', render: render(st), maxPageSize: st.prefs.maxPageSize }),
    );
    graph('POST', prefix, 'events.create', WRITE, (st, req, reply) => {
      const mailbox = mailboxOf(st);
      const { event } = mailbox.events.create(parseEventBody(req.body, 'create'));
      const body = renderEvent(event, organizerOf(mailbox), render(st));
      return reply.code(201).header('location', `${s.baseUrl()}v1.0/users/${mailbox.id}/events/${encodeURIComponent(body.id)}`).send({
        '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#users('${encodeURIComponent(mailbox.address)}')/events/$entity`,
        ...body,
      });
    });
    graph('GET', `${prefix}/:eventId`, 'events.get', READ, (st, req) => {
      const mailbox = mailboxOf(st);
      const expand = expandedPropertyIds((req.query as Query).$expand as string | undefined);
      const event = mailbox.events.get(req.params.eventId);
      return {
        '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#users('${encodeURIComponent(mailbox.address)}')/events/$entity`,
        ...renderEvent(event, organizerOf(mailbox), { ...render(st), expand }),
      };
    });
    graph('PATCH', `${prefix}/:eventId`, 'events.update', WRITE, (st, req) => {
      const mailbox = mailboxOf(st);
      const event = mailbox.events.update(req.params.eventId, parseEventBody(req.body, 'update'));
      return {
        '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#users('${encodeURIComponent(mailbox.address)}')/events/$entity`,
        ...renderEvent(event, organizerOf(mailbox), render(st)),
      };
    });
    graph('DELETE', `${prefix}/:eventId`, 'events.delete', WRITE, (st, req, reply) => {
      mailboxOf(st).events.delete(req.params.eventId);
      return reply.code(204).send();
    });
  }

  for (const prefix of ['/users/:user/calendarView', '/users/:user/calendar/calendarView']) {
    graph('GET', prefix, 'calendarView.list', READ, (st, req) =>
      calendarView(mailboxOf(st), req.query, { baseUrl: s.baseUrl(), userPath: st.userPath ?? '', render: render(st), maxPageSize: st.prefs.maxPageSize }),
    );
    graph('GET', `${prefix}/delta`, 'calendarView.delta', READ, (st, req) =>
      s.delta.delta(mailboxOf(st), req.query, { baseUrl: s.baseUrl(), userPath: st.userPath ?? '', render: render(st), maxPageSize: st.prefs.maxPageSize }),
    );
  }

  graph('POST', '/subscriptions', 'subscriptions.create', READ, async (st, req, reply) => {
    const created = await s.subscriptions.create(req.body, st.caller, st.prefs.immutableIds);
    return reply.code(201).send(created);
  });
  graph('GET', '/subscriptions/:id', 'subscriptions.get', READ, (_st, req) => s.subscriptions.get(req.params.id));
  graph('PATCH', '/subscriptions/:id', 'subscriptions.update', READ, (_st, req) => s.subscriptions.update(req.params.id, req.body));
  graph('POST', '/subscriptions/:id/reauthorize', 'subscriptions.reauthorize', READ, (_st, req, reply) => {
    s.subscriptions.reauthorize(req.params.id);
    return reply.code(204).send();
  });
  graph('DELETE', '/subscriptions/:id', 'subscriptions.delete', READ, (_st, req, reply) => {
    s.subscriptions.delete(req.params.id);
    return reply.code(204).send();
  });

  return app;
}
