import { JWT } from 'google-auth-library';
import { OwnerUnavailableError } from '../ports/calendar';
import { ownerTokenError } from './google-errors';
import type { RequestLimiter } from './request-rate-limiter';

/** What the daemon asks for when impersonating an owner (the admin grants exactly these to the client id). */
export const CALENDAR_SCOPES = [
  'https://www.googleapis.com/auth/calendar.events',
  'https://www.googleapis.com/auth/calendar.settings.readonly',
  'https://www.googleapis.com/auth/calendar.freebusy',
] as const;

/** Hard-coded in google-auth-library (build/src/gtoken/getToken.js); a token_uri in the key file is ignored. */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/** Owners whose client (and token) is kept, by default (see OwnerAuthOptions.maxOwners). */
export const DEFAULT_MAX_OWNERS = 2_000;

export interface OwnerAuthOptions {
  clientEmail: string;
  privateKey: string;
  /** Token endpoint; anything other than GOOGLE_TOKEN_URL (an emulator) is reached by rewriting the request URL. */
  tokenUrl?: string;
  /**
   * How many owners keep a client (and so a cached token). Least recently used are dropped. Default 2,000: a token
   * lives an hour, so a client only saves a token request for an owner touched again within it (a booking's
   * calls, a burst's last looks); each costs ~2–3 KB of heap (10,000 were ~25 MB of a 300 MB daemon).
   */
  maxOwners?: number;
  /** Timeout of a token request in ms. Default 30,000. */
  timeoutMs?: number;
  /**
   * The project-wide request budget. Every Calendar API request of an owner's client (through client.request,
   * every call and retry) acquires a slot before it is sent; token requests do not (Google's Calendar quota does
   * not count them). None: unlimited.
   */
  limiter?: RequestLimiter;
  /** The fetch every request of the owners' clients goes through (the outbound proxy's). Default Node's fetch. */
  fetch?: typeof fetch;
  /** The scopes asked for (default CALENDAR_SCOPES); `doctor` asks for each alone to name one not delegated. */
  scopes?: readonly string[];
}

/**
 * One service-account JWT client per impersonated owner (domain-wide delegation), each caching its own 1-hour
 * token. Token requests are not retried by gaxios: the caller's retry policy is the only one. With a limiter,
 * no Calendar API request leaves without a slot of the project-wide budget.
 */
export class OwnerAuthProvider {
  private readonly clients = new Map<string, JWT>();
  private readonly maxOwners: number;
  private readonly timeoutMs: number;

  constructor(private readonly options: OwnerAuthOptions) {
    this.maxOwners = Math.max(1, options.maxOwners ?? DEFAULT_MAX_OWNERS);
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** The owner's client with a valid access token. Throws OwnerUnavailableError on invalid_grant / unauthorized_client. */
  async authorizedClient(owner: string): Promise<JWT> {
    const client = this.clientFor(owner);
    try {
      await client.getAccessToken();
    } catch (err) {
      const reason = ownerTokenError(err);
      throw reason ? new OwnerUnavailableError(owner, reason) : err;
    }
    return client;
  }

  /**
   * The service account acting as itself (no `sub`, no delegation needed): a token of its own, for the readiness
   * probe's cheap call. A new client each time, so the probe really asks the token endpoint.
   */
  serviceAccountClient(): JWT {
    return this.createClient(undefined);
  }

  /** Forgets the owner's client and token (after a 401): the next call fetches a new token. */
  invalidate(owner: string): void {
    this.clients.delete(owner);
  }

  private clientFor(owner: string): JWT {
    let client = this.clients.get(owner);
    if (client) {
      this.clients.delete(owner); // re-inserted below as most recently used
    } else {
      client = this.createClient(owner);
      if (this.clients.size >= this.maxOwners) {
        const oldest = this.clients.keys().next().value;
        if (oldest !== undefined) this.clients.delete(oldest);
      }
    }
    this.clients.set(owner, client);
    return client;
  }

  private createClient(owner: string | undefined): JWT {
    const client = new JWT({
      email: this.options.clientEmail,
      key: this.options.privateKey,
      scopes: [...(this.options.scopes ?? CALENDAR_SCOPES)], // without scopes the library signs a self-signed JWT and drops `subject`
      subject: owner,
      // This transporter carries the token requests and (through client.request) the owner's API calls. Always
      // a fetch of ours: gaxios' default is a dynamic import of node-fetch, which fails under Jest's CommonJS
      // runtime, and gaxios' own proxy support (an https agent) is ignored by fetch.
      transporterOptions: { timeout: this.timeoutMs, fetchImplementation: this.options.fetch ?? fetch },
    });
    const tokenUrl = this.options.tokenUrl && this.options.tokenUrl !== GOOGLE_TOKEN_URL ? new URL(this.options.tokenUrl) : undefined;
    const limiter = this.options.limiter;
    client.transporter.interceptors.request.add({
      resolved: async (opts) => {
        const tokenRequest = String(opts.url) === GOOGLE_TOKEN_URL;
        if (tokenRequest) {
          if (tokenUrl) opts.url = tokenUrl;
          opts.retry = false;
          opts.retryConfig = { ...opts.retryConfig, retry: 0 };
        }
        // Google's Calendar quota counts Calendar API requests, not OAuth token requests: those take no slot.
        if (limiter && !tokenRequest) {
          await limiter.acquire();
          // gaxios started the timeout before the interceptors ran: the time spent waiting for a slot must not
          // count against the request. (No caller passes its own abort signal, so the timeout is the only one.)
          if (opts.timeout) opts.signal = AbortSignal.timeout(opts.timeout);
        }
        return opts;
      },
    });
    return client;
  }
}
