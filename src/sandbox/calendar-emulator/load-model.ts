/**
 * Load conditions for benchmarks (all optional, all off by default): a per-call latency, Google's per-project and
 * per-user request quotas, and counters of what was admitted, refused and served.
 *
 * Quotas are enforced the way Google answers them: beyond the project's Q requests in any window (a minute) a
 * Calendar API call gets 403 `rateLimitExceeded` in the `usageLimits` domain; beyond a user's limit (keyed by
 * `quotaUser`, else the impersonated user) it gets 403 `userRateLimitExceeded` (or, configurably, 429
 * `rateLimitExceeded`, which Google also answers). Refused calls do not count against the quota; token requests
 * (the OAuth endpoint, another service) never do. The window slides: at most Q admissions in any `windowMs`.
 */
import { setMaxListeners } from 'node:events';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errorForStatus } from './google-errors';
import type { EmulatorMethod } from './types';

export interface LoadModelOptions {
  /** Each request (token requests included unless `latencyForToken` is false) is answered after a uniform random delay in [min, max] ms. */
  latencyMs?: [number, number];
  latencyForToken?: boolean;
  /** Calendar API calls admitted per project in any `windowMs`; beyond: 403 rateLimitExceeded (usageLimits). */
  projectQuota?: number;
  /** Calendar API calls admitted per user (quotaUser, else the impersonated user) in any `windowMs`. */
  userQuota?: number;
  /** How a call beyond the user's quota is refused: 403 userRateLimitExceeded (default) or 429 rateLimitExceeded. */
  userQuotaStatus?: 403 | 429;
  /** Default 60,000 (Google's quotas are per minute). */
  windowMs?: number;
  /** The clock of the quota windows. Default Date.now (the real clock, also under a shifted test clock). */
  now?: () => number;
  random?: () => number;
}

/** One request as it was answered. */
export interface ServedCall {
  method: EmulatorMethod;
  owner?: string;
  quotaUser?: string;
  status: number;
  /** Real epoch ms when the answer was sent. */
  at: number;
}

export interface LoadStats {
  /** Calendar API calls admitted (counted by the quota), by method. */
  admitted: Partial<Record<EmulatorMethod, number>>;
  admittedTotal: number;
  tokenRequests: number;
  /** Calls refused for the project quota / a user's quota. */
  projectRejected: number;
  userRejected: number;
  /** The most admissions in any window of `windowMs` so far. */
  maxAdmittedInWindow: number;
}

/** What the HTTP layer knows of a request once it is authenticated. */
export interface LoadRequestInfo {
  method: EmulatorMethod;
  owner?: string;
  quotaUser?: string;
}

/** A sliding log of admission times (ascending), trimmed to one window. */
class WindowLog {
  private times: number[] = [];
  private head = 0;

  count(now: number, windowMs: number): number {
    while (this.head < this.times.length && this.times[this.head] <= now - windowMs) this.head++;
    if (this.head > 4096 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return this.times.length - this.head;
  }

  add(now: number): void {
    this.times.push(now);
  }
}

export class LoadModel {
  private opts: LoadModelOptions;
  private project = new WindowLog();
  private readonly users = new Map<string, WindowLog>();
  private readonly listeners = new Set<(call: ServedCall) => void>();
  /** Every admission time (real ms), for the "most in any window" figure. */
  private admissions: number[] = [];
  private counters = { admitted: {} as Partial<Record<EmulatorMethod, number>>, tokenRequests: 0, projectRejected: 0, userRejected: 0 };

  constructor(opts: LoadModelOptions = {}) {
    this.opts = { ...opts };
  }

  /** Changes the conditions from now on (merged into the current ones; `undefined` switches one off). */
  configure(opts: Partial<LoadModelOptions>): void {
    this.opts = { ...this.opts, ...opts };
  }

  get options(): Readonly<LoadModelOptions> {
    return this.opts;
  }

  private get windowMs(): number {
    return this.opts.windowMs ?? 60_000;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** The delay one request waits before it is handled. */
  latencyFor(method: EmulatorMethod | undefined): number {
    const range = this.opts.latencyMs;
    if (!range) return 0;
    if (method === 'token' && this.opts.latencyForToken === false) return 0;
    const [min, max] = range;
    return min + (this.opts.random ?? Math.random)() * Math.max(0, max - min);
  }

  /** Admits one authenticated request under the quotas, or throws Google's rate-limit error. */
  admit(info: LoadRequestInfo): void {
    if (info.method === 'token') {
      this.counters.tokenRequests++;
      return;
    }
    const now = this.now();
    const windowMs = this.windowMs;
    const user = (info.quotaUser ?? info.owner ?? '').toLowerCase();
    let userLog: WindowLog | undefined;
    if (this.opts.userQuota !== undefined) {
      userLog = this.users.get(user);
      if (!userLog) this.users.set(user, (userLog = new WindowLog()));
      if (userLog.count(now, windowMs) >= this.opts.userQuota) {
        this.counters.userRejected++;
        throw this.opts.userQuotaStatus === 429 ? errorForStatus(429, 'rateLimitExceeded') : errorForStatus(403, 'userRateLimitExceeded');
      }
    }
    if (this.opts.projectQuota !== undefined && this.project.count(now, windowMs) >= this.opts.projectQuota) {
      this.counters.projectRejected++;
      throw errorForStatus(403, 'rateLimitExceeded');
    }
    userLog?.add(now);
    this.project.add(now);
    this.admissions.push(now);
    this.counters.admitted[info.method] = (this.counters.admitted[info.method] ?? 0) + 1;
  }

  /** Called with every answered request (any status), after it is sent. */
  onServed(listener: (call: ServedCall) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  served(call: ServedCall): void {
    for (const l of this.listeners) l(call);
  }

  /** The most admissions in any window of `windowMs` (default the quota window) since the last reset. */
  maxAdmittedInWindow(windowMs = this.windowMs): number {
    let best = 0;
    let lo = 0;
    const t = this.admissions;
    for (let hi = 0; hi < t.length; hi++) {
      while (t[hi] - t[lo] >= windowMs) lo++;
      best = Math.max(best, hi - lo + 1);
    }
    return best;
  }

  /** Admission times (real epoch ms) since the last reset. */
  admissionTimes(): readonly number[] {
    return this.admissions;
  }

  stats(): LoadStats {
    const admitted = { ...this.counters.admitted };
    return {
      admitted,
      admittedTotal: Object.values(admitted).reduce((a, b) => a + (b ?? 0), 0),
      tokenRequests: this.counters.tokenRequests,
      projectRejected: this.counters.projectRejected,
      userRejected: this.counters.userRejected,
      maxAdmittedInWindow: this.maxAdmittedInWindow(),
    };
  }

  /** Forgets the counters and the quota windows (a new measurement starts with the whole quota). */
  reset(): void {
    this.admissions = [];
    this.counters = { admitted: {}, tokenRequests: 0, projectRejected: 0, userRejected: 0 };
    this.users.clear();
    this.project = new WindowLog();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

/**
 * Hooks the load model into the emulator's server: the latency before anything else (a request's method is known
 * from its URL only later, so the token endpoint is recognised by path), the quotas once the request is
 * authenticated (before its handler), and every answer reported to the listeners.
 */
export function installLoadModel(
  app: FastifyInstance,
  model: LoadModel,
  infoOf: (req: FastifyRequest) => LoadRequestInfo | undefined,
  shutdown: AbortSignal,
): void {
  // Every request waiting out its latency listens for the shutdown: hundreds at once under load.
  setMaxListeners(0, shutdown);
  app.addHook('onRequest', async (req) => {
    const isToken = req.url.split('?')[0] === '/token';
    await sleep(model.latencyFor(isToken ? 'token' : undefined), shutdown);
  });
  app.addHook('preHandler', async (req) => {
    const info = infoOf(req);
    if (info) model.admit(info);
  });
  app.addHook('onResponse', async (req, reply) => {
    const info = infoOf(req);
    if (info) model.served({ ...info, status: reply.statusCode, at: Date.now() });
  });
}
