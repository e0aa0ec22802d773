import { request } from 'undici';
import type { RemediationView } from '../../src/domain/remediation';
import { waitFor } from './wait';

let occurred = Date.parse('2026-11-20T00:00:00Z');

/** A policy event as Fleet-like producers post it; every call gets a distinct occurred_at. */
export function policyEvent(
  type: 'policy_failing' | 'policy_passing',
  host: { id: number; emails?: string[]; display_name?: string; serial_number?: string },
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

/** Talks to a running daemon over real HTTP. */
export class DaemonClient {
  constructor(private readonly baseUrl: string, private readonly token?: string) {}

  async post(path: string, body: unknown): Promise<{ status: number; body: any }> {
    const res = await request(`${this.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.statusCode, body: await res.body.json() };
  }

  async remediations(query: Record<string, string | number> = {}): Promise<RemediationView[]> {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString();
    const res = await request(`${this.baseUrl}/v1/remediations${qs ? `?${qs}` : ''}`);
    const body = (await res.body.json()) as { remediations: RemediationView[] };
    return body.remediations;
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
