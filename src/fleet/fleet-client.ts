import { request, type Dispatcher } from 'undici';
import type { MappedEmail } from '../domain/owner-email';

/** What the daemon needs to know about a host that Fleet's failing-policies webhook only names. */
export interface FleetHost {
  id: number;
  displayName: string;
  serialNumber: string;
  teamId: number | null;
  emails: MappedEmail[];
}

/** The port: looks up a host's details and owner emails. */
export interface HostDirectory {
  lookupHost(hostId: number): Promise<FleetHost>;
}

/** A host's policy results as Fleet reports them: "pass", "fail", or "" (not run yet: NOT a pass). */
export type PolicyResponse = 'pass' | 'fail' | '';

export interface HostPolicyResults {
  hostId: number;
  /** Fleet's `status`: "online", "offline", "new", "missing"… */
  status: string;
  /** Policy id → response, for the policies that apply to the host. */
  policies: Map<number, PolicyResponse>;
}

/**
 * The port of "Fleet is the source of truth": which hosts fail a policy (one paged list per policy) and one host's
 * policy results and status (one call).
 */
export interface PolicyResults {
  /** Ids of every host failing the policy, read page by page; and how many pages that took. */
  failingHosts(policyId: number): Promise<{ hostIds: Set<number>; pages: number }>;
  /** One host's policy results and online status. */
  hostPolicies(hostId: number): Promise<HostPolicyResults>;
}

/** Hosts asked per page of a policy's failing-host list. */
export const FLEET_PAGE_SIZE = 500;

/** Fleet answered that the host does not exist: final, the remediation is kept unassigned. */
export class FleetHostNotFoundError extends Error {
  readonly code = 'FLEET_HOST_NOT_FOUND';
  constructor(readonly hostId: number) {
    super(`host ${hostId} not found in Fleet`);
    this.name = 'FleetHostNotFoundError';
  }
}

/** Fleet could not be asked right now (network, 5xx, 429, auth): the job is retried. */
export class FleetUnavailableError extends Error {
  readonly code = 'FLEET_UNAVAILABLE';
  constructor(message: string, readonly status?: number, readonly retryAfterMs?: number) {
    super(message);
    this.name = 'FleetUnavailableError';
  }
}

/** Longest Retry-After honoured (a bigger one is capped: the sync tries again then). */
const MAX_RETRY_AFTER_MS = 15 * 60_000;
/** A 429 without a usable Retry-After: wait this long. */
const DEFAULT_RETRY_AFTER_MS = 60_000;

/** Retry-After in ms: delta-seconds or an HTTP date; absent or unreadable → the default. */
export function retryAfterMs(header: string | string[] | undefined, now: number): number {
  const value = Array.isArray(header) ? header[0] : header;
  if (value !== undefined && /^\s*\d+\s*$/.test(value)) return Math.min(MAX_RETRY_AFTER_MS, Number(value) * 1000);
  const date = value ? Date.parse(value) : NaN;
  if (Number.isFinite(date)) return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, date - now));
  return DEFAULT_RETRY_AFTER_MS;
}

interface FleetHostResponse {
  host: {
    id: number;
    hostname?: string;
    display_name?: string;
    computer_name?: string;
    hardware_serial?: string;
    team_id?: number | null;
    end_users?: Array<{ idp_username?: string }>;
    status?: string;
    policies?: Array<{ id: number; response?: string | null }> | null;
  };
}

interface HostListResponse {
  hosts?: Array<{ id: number }> | null;
}

interface DeviceMappingResponse {
  device_mapping?: Array<{ email: string; source: string }> | null;
}

/** Fleet REST API client (`Authorization: Bearer <API token>`). */
export class FleetClient implements HostDirectory, PolicyResults {
  private readonly timeoutMs: number;
  private readonly dispatcher?: Dispatcher;
  /** Fleet answered 429: no request leaves before this instant (epoch ms), whoever asks. */
  private notBefore = 0;

  constructor(
    private readonly baseUrl: string,
    private readonly apiToken: string,
    /** `timeoutMs` per request (default 10 s); `dispatcher`: the outbound proxy's (see outbound-proxy). */
    options: { timeoutMs?: number; dispatcher?: Dispatcher } = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.dispatcher = options.dispatcher;
  }

  async lookupHost(hostId: number): Promise<FleetHost> {
    const [{ host }, mapping] = await Promise.all([
      this.get<FleetHostResponse>(`/api/v1/fleet/hosts/${hostId}`, hostId),
      this.get<DeviceMappingResponse>(`/api/v1/fleet/hosts/${hostId}/device_mapping`, hostId),
    ]);
    const idpUsers = (host.end_users ?? [])
      .map((u) => u.idp_username ?? '')
      .filter((e) => e.includes('@'))
      .map((email) => ({ email, source: 'identity_provider' }));
    return {
      id: host.id,
      displayName: host.display_name || host.computer_name || host.hostname || `host ${host.id}`,
      serialNumber: host.hardware_serial ?? '',
      teamId: host.team_id ?? null,
      emails: [...idpUsers, ...(mapping.device_mapping ?? [])],
    };
  }

  async failingHosts(policyId: number): Promise<{ hostIds: Set<number>; pages: number }> {
    const hostIds = new Set<number>();
    for (let page = 0; ; page++) {
      const query = `policy_id=${policyId}&policy_response=failing&page=${page}&per_page=${FLEET_PAGE_SIZE}&order_key=id`;
      const res = await this.get<HostListResponse>(`/api/v1/fleet/hosts?${query}`, null);
      const hosts = res.hosts ?? [];
      for (const h of hosts) hostIds.add(h.id);
      if (hosts.length < FLEET_PAGE_SIZE) return { hostIds, pages: page + 1 };
    }
  }

  async hostPolicies(hostId: number): Promise<HostPolicyResults> {
    const { host } = await this.get<FleetHostResponse>(`/api/v1/fleet/hosts/${hostId}`, hostId);
    const policies = new Map<number, PolicyResponse>();
    for (const p of host.policies ?? []) {
      const response = p.response === 'pass' || p.response === 'fail' ? p.response : '';
      policies.set(p.id, response);
    }
    return { hostId: host.id ?? hostId, status: host.status ?? 'unknown', policies };
  }

  private async get<T>(path: string, hostId: number | null): Promise<T> {
    const wait = this.notBefore - Date.now();
    if (wait > 0) throw new FleetUnavailableError(`Fleet API rate limit: not asked again for ${Math.ceil(wait / 1000)} s (Retry-After)`, 429, wait);
    let res;
    try {
      res = await request(`${this.baseUrl}${path}`, {
        method: 'GET',
        headers: { authorization: `Bearer ${this.apiToken}`, accept: 'application/json' },
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        dispatcher: this.dispatcher,
      });
    } catch (err) {
      throw new FleetUnavailableError(`Fleet API unreachable: ${(err as Error).message}`);
    }
    if (res.statusCode === 404 && hostId !== null) {
      await res.body.dump();
      throw new FleetHostNotFoundError(hostId);
    }
    if (res.statusCode === 429) {
      await res.body.dump();
      const wait = retryAfterMs(res.headers['retry-after'], Date.now());
      this.notBefore = Math.max(this.notBefore, Date.now() + wait);
      throw new FleetUnavailableError(`Fleet API answered 429 for ${path.split('?')[0]}: retrying after ${Math.ceil(wait / 1000)} s`, 429, wait);
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      await res.body.dump();
      throw new FleetUnavailableError(`Fleet API answered ${res.statusCode} for ${path.split('?')[0]}`, res.statusCode);
    }
    return (await res.body.json()) as T;
  }
}
