import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sameSecret } from '../lib/secrets';
import { unauthorized } from './errors';

/** Which token a route needs: producers' (ingest) or admins' (every read and admin action). None: open. */
export type RouteAuth = 'ingest' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
}

export interface Tokens {
  /** INGEST_TOKEN; unset (sandbox only): ingest routes are open. */
  ingest?: string;
  /** ADMIN_TOKEN; unset (sandbox only): read and admin routes are open. */
  admin?: string;
}

/** The one auth hook: a route says which token it needs (`config.auth`); the bearer is compared in constant time. */
export function registerAuth(app: FastifyInstance, tokens: Tokens): void {
  app.addHook('onRequest', async (req: FastifyRequest) => {
    const needs = req.routeOptions.config?.auth;
    if (!needs) return;
    const expected = tokens[needs];
    if (!expected) return;
    const match = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
    if (!match || !sameSecret(match[1], expected)) throw unauthorized();
  });
}
