import { request } from 'undici';
import type { LifecycleEvent } from '../../src/domain/lifecycle-event';
import type { RemediationView } from '../../src/domain/remediation';
import { waitFor } from './wait';

let occurred = Date.parse('2026-11-20T00:00:00Z');

/** A policy event as Fleet-like producers post it; every call gets a distinct occurred_at. */
export function policyEvent(
  type: 'policy_failing' | 'policy_passing',
  host: { id: number; emails?: string[]; display_name?: string; serial_number?: string; team_id?: number | null },
  policy: { id: number; name?: string; description?: string; resolution?: string } = { id: 7 },
) {
  occurred += 1000;
  return {
    type,
    host: { display_name: `Laptop ${host.id}`, serial_number: `SN${host.id}`, team_id: 1, ...host },
    policy: { name: `Policy ${policy.id}`, ...policy },
    occurred_at: new Date(occurred).toISOString(),
  };
}

/** The tokens every test daemon runs with (a daemon on Google credentials requires both). */
export const TEST_TOKENS = { ingest: 'test-ingest-token-0123456789', admin: 'test-admin-token-0123456789' } as const;

/** `Authorization` for a request to `path` with the test tokens (for clients other than DaemonClient). */
export function testAuthHeaders(path: string): Record<string, string> {
  const token = tokenFor(path.replace(/^https?:\/\/[^/]+/, ''), TEST_TOKENS);
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** The token a path needs: producers' for the ingest routes, admins' for the rest. */
function tokenFor(path: string, tokens: { ingest?: string; admin?: string }): string | undefined {
  return /^\/v1\/(policy-events|fleet\/failing-policies)\b/.test(path) ? tokens.ingest : tokens.admin;
}

/** Talks to a running daemon over real HTTP, with the token each route needs. */
export class DaemonClient {
  constructor(
    private readonly baseUrl: string,
    private readonly tokens: { ingest?: string; admin?: string } = TEST_TOKENS,
  ) {}

  private auth(path: string): Record<string, string> {
    const token = tokenFor(path, this.tokens);
    return token ? { authorization: `Bearer ${token}` } : {};
  }

  async post(path: string, body: unknown): Promise<{ status: number; body: any }> {
    const res = await request(`${this.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...this.auth(path) },
      body: JSON.stringify(body),
    });
    return { status: res.statusCode, body: await res.body.json() };
  }

  async get(path: string): Promise<{ status: number; body: any }> {
    const res = await request(`${this.baseUrl}${path}`, { headers: this.auth(path) });
    return { status: res.statusCode, body: await res.body.json() };
  }

  async remediations(query: Record<string, string | number> = {}): Promise<RemediationView[]> {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString();
    const res = await this.get(`/v1/remediations${qs ? `?${qs}` : ''}`);
    if (res.status !== 200) throw new Error(`GET /v1/remediations answered ${res.status}: ${JSON.stringify(res.body)}`);
    return (res.body as { remediations: RemediationView[] }).remediations;
  }

  /** A remediation with its history. */
  async remediation(id: string): Promise<RemediationView & { history: LifecycleEvent[] }> {
    const res = await this.get(`/v1/remediations/${id}`);
    if (res.status !== 200) throw new Error(`GET /v1/remediations/${id} answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** Waits until the host's newest remediation has the status. */
  async waitForStatus(hostId: number, status: RemediationView['status'], timeoutMs = 10_000): Promise<RemediationView> {
    return waitFor(
      async () => {
        const [latest] = await this.remediations({ host_id: hostId });
        return latest?.status === status ? latest : null;
      },
      { timeoutMs, what: `host ${hostId} to be ${status}` },
    );
  }
}
