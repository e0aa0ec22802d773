import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sameSecret } from '../lib/secrets';
import { unauthorized } from './errors';

/** Which token a route needs: producers' (ingest) or admins' (every read and admin action). None: open. */
export type RouteAuth = 'ingest' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
    /**
     * The token may also come as `?token=` (only Fleet's webhook route: Fleet cannot add an Authorization header).
     * Compared in constant time like the bearer; query strings are never logged (see lib/logger.ts).
     */
    queryToken?: boolean;
  }
}

export interface Tokens {
  /** INGEST_TOKEN; unset (sandbox only): ingest routes are open. */
  ingest?: string;
  /** ADMIN_TOKEN; unset (sandbox only): read and admin routes are open. */
  admin?: string;
}

/**
 * The one auth hook: a route says which token it needs (`config.auth`); the token is compared in constant time.
 * `Authorization: Bearer <token>`; admin routes also take HTTP Basic with the token as the password, so a browser
 * can open the status page and the queue dashboard (it asks for it: WWW-Authenticate).
 */
export function registerAuth(app: FastifyInstance, tokens: Tokens): void {
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const needs = req.routeOptions.config?.auth;
    if (needs) checkToken(req, reply, needs, tokens);
  });
}

/** The same check for routes registered by plugins that cannot carry `config.auth` (the queue dashboard). */
export function requireToken(needs: RouteAuth, tokens: Tokens) {
  return async (req: FastifyRequest, reply: FastifyReply) => checkToken(req, reply, needs, tokens);
}

function checkToken(req: FastifyRequest, reply: FastifyReply, needs: RouteAuth, tokens: Tokens): void {
  const expected = tokens[needs];
  if (!expected) return;
  const header = req.headers.authorization ?? '';
  const bearer = /^Bearer (.+)$/i.exec(header);
  if (bearer && sameSecret(bearer[1], expected)) return;
  // Fleet's webhook route only (`config.queryToken`): Fleet cannot add a header, so `?token=` (never logged).
  const query = !bearer && req.routeOptions.config?.queryToken ? queryToken(req) : undefined;
  if (query !== undefined && sameSecret(query, expected)) return;
  if (needs === 'admin') {
    const basic = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header);
    const password = basic ? Buffer.from(basic[1], 'base64').toString('utf8').split(':').slice(1).join(':') : undefined;
    if (password !== undefined && sameSecret(password, expected)) return;
    reply.header('www-authenticate', 'Basic realm="maintenance-windows", charset="UTF-8"');
  }
  throw unauthorized();
}

/** `?token=` of a request (one value; repeated or empty: none). */
function queryToken(req: FastifyRequest): string | undefined {
  const value = (req.query as Record<string, unknown> | undefined)?.token;
  return typeof value === 'string' && value !== '' ? value : undefined;
}
