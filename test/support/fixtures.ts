import { eventIdFor } from '../../src/domain/event-id';
import type { RemediationView } from '../../src/domain/remediation';
import { DaemonClient, TEST_TOKENS, policyEvent } from './daemon-client';
import type { FakeFleetHost } from './fake-fleet';
import type { RecordedRequest } from './http-recorder';
import type { DaemonHandle } from './use-daemon';
import { waitFor } from './wait';

/**
 * Fixture builders shared by the end-to-end tests: owners in the Calendar emulator, failing hosts posted to the
 * daemon, our events as a crashed attempt left them, Fleet hosts and Fleet's failing-policies webhook.
 */

type Policy = Parameters<typeof policyEvent>[2];
type UserOptions = NonNullable<Parameters<DaemonHandle['env']['emulator']['addUser']>[1]>;

/** The handle with a client on other tokens: for a daemon started with its own INGEST_TOKEN / ADMIN_TOKEN. */
export function withTokens(t: DaemonHandle, tokens: { ingest?: string; admin?: string }): DaemonHandle {
  let client: DaemonClient | undefined;
  return {
    get env() {
      return t.env;
    },
    get daemon() {
      return (client ??= new DaemonClient(t.env.url, { ...TEST_TOKENS, ...tokens }));
    },
  };
}

/** A calendar user of the emulator (an owner), in `timeZone` (UTC unless said); returns the address. */
export function addOwner(t: DaemonHandle, email: string, timeZone = 'UTC', opts: Omit<UserOptions, 'timeZone'> = {}): string {
  t.env.emulator.addUser(email, { timeZone, ...opts });
  return email;
}

async function postPolicyEvent(t: DaemonHandle, type: 'policy_failing' | 'policy_passing', hostId: number, owner: string, policy?: Policy): Promise<void> {
  const res = await t.daemon.post('/v1/policy-events', policyEvent(type, { id: hostId, emails: [owner] }, policy));
  if (res.status !== 202) throw new Error(`${type} for host ${hostId} answered ${res.status}: ${JSON.stringify(res.body)}`);
}

/** Posts one failing policy (policy 7 unless said) of host `hostId` owned by `owner`. */
export function postFailing(t: DaemonHandle, hostId: number, owner: string, policy?: Policy): Promise<void> {
  return postPolicyEvent(t, 'policy_failing', hostId, owner, policy);
}

/** Posts one passing policy (policy 7 unless said) of host `hostId` owned by `owner`. */
export function postPassing(t: DaemonHandle, hostId: number, owner: string, policy?: Policy): Promise<void> {
  return postPolicyEvent(t, 'policy_passing', hostId, owner, policy);
}

/** A new owner (UTC unless said) with one failing host; resolves once the host's window is booked. */
export async function bookHost(t: DaemonHandle, hostId: number, owner: string, timeZone = 'UTC'): Promise<RemediationView> {
  addOwner(t, owner, timeZone);
  await postFailing(t, hostId, owner);
  return t.daemon.waitForStatus(hostId, 'booked');
}

/** The host's newest remediation. */
export async function latest(t: DaemonHandle, hostId: number): Promise<RemediationView> {
  return (await t.daemon.remediations({ host_id: hostId }))[0];
}

/** The webhooks the env's recording receiver got for this host (a body naming its host_id). */
export function webhooksFor(t: DaemonHandle, hostId: number): RecordedRequest[] {
  return t.env.webhook.requests.filter((r) => (r.body as { host_id?: number } | null)?.host_id === hostId);
}

/** Waits for the first webhook the env's recording receiver gets for this host. */
export function firstWebhookFor(t: DaemonHandle, hostId: number, timeoutMs = 8000): Promise<RecordedRequest> {
  return waitFor(() => webhooksFor(t, hostId)[0], { timeoutMs, what: `the resolution webhook of host ${hostId}` });
}

/**
 * Our event as an attempt that died before recording it left it in the owner's calendar: inserted under the id
 * the daemon derives for `remediationId` and `bookingNumber`. Returns that id.
 */
export function orphanEvent(t: DaemonHandle, owner: string, remediationId: string, opts: { bookingNumber?: number; start?: string } = {}): string {
  const id = eventIdFor(remediationId, opts.bookingNumber ?? 0);
  const start = Date.parse(opts.start ?? '2026-11-24T09:00:00Z');
  t.env.emulator.createEventAsOwner(owner, {
    id,
    summary: 'Scheduled maintenance',
    start: { dateTime: new Date(start).toISOString().replace('.000Z', 'Z') },
    end: { dateTime: new Date(start + 30 * 60_000).toISOString().replace('.000Z', 'Z') },
  });
  return id;
}

/** A host as Fleet's API knows it; `owners` is its device mapping (identity-provider emails unless said). */
export function fleetHost(
  id: number,
  owners: Array<string | { email: string; source: string }>,
  extra: Partial<Omit<FakeFleetHost, 'id' | 'device_mapping'>> = {},
): FakeFleetHost {
  return {
    id,
    hostname: `host-${id}`,
    display_name: `Laptop ${id}`,
    hardware_serial: `SN${id}`,
    team_id: 1,
    ...extra,
    device_mapping: owners.map((o) => (typeof o === 'string' ? { email: o, source: 'identity_provider' } : o)),
  };
}

/** The policy Fleet's webhook names unless said (all the fields a Fleet server sends). */
export const FLEET_POLICY = {
  id: 479,
  name: 'macOS - OS version up to date',
  query: 'SELECT 1 FROM os_version WHERE major >= 15;',
  description: 'Old macOS versions have known security holes.',
  author_id: 1,
  author_name: 'Admin',
  author_email: 'admin@acme.com',
  resolution: 'We will install the latest macOS update.',
  passing_host_count: 2000,
  critical: true,
};

/** Fleet's failing-policies webhook body, as a Fleet server sends it, for these hosts. */
export function fleetWebhook(
  hosts: Array<Pick<FakeFleetHost, 'id' | 'hostname' | 'display_name'>>,
  opts: { policy?: Record<string, unknown>; timestamp?: string } = {},
) {
  return {
    timestamp: opts.timestamp ?? '2026-11-23T06:57:31.668954-05:00',
    policy: { ...(opts.policy ?? FLEET_POLICY), failing_host_count: hosts.length },
    hosts: hosts.map((h) => ({ id: h.id, hostname: h.hostname, display_name: h.display_name, url: `https://fleet.acme.com/hosts/${h.id}` })),
  };
}
