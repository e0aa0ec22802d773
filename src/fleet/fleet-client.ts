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
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'FleetUnavailableError';
  }
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
  };
}

interface DeviceMappingResponse {
  device_mapping?: Array<{ email: string; source: string }> | null;
}

/** Fleet REST API client (`Authorization: Bearer <API token>`). */
export class FleetClient implements HostDirectory {
  private readonly timeoutMs: number;
  private readonly dispatcher?: Dispatcher;

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

  private async get<T>(path: string, hostId: number): Promise<T> {
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
    if (res.statusCode === 404) {
      await res.body.dump();
      throw new FleetHostNotFoundError(hostId);
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      await res.body.dump();
      throw new FleetUnavailableError(`Fleet API answered ${res.statusCode} for ${path}`, res.statusCode);
    }
    return (await res.body.json()) as T;
  }
}
