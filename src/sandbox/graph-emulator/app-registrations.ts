/**
 * The tenant's app registrations (service principals) a daemon authenticates as: client id, client secrets,
 * certificates (by SHA-1 and SHA-256 thumbprint) and the application permissions admin-consented for Graph.
 */
import { createHash, randomUUID, X509Certificate, type KeyObject } from 'node:crypto';

export type GraphRole = 'Calendars.Read' | 'Calendars.ReadWrite' | 'MailboxSettings.Read' | 'MailboxSettings.ReadWrite' | 'User.Read.All';

export interface AppRegistration {
  clientId: string;
  displayName: string;
  /** The service principal's object id (oid/sub of its tokens, creatorId of its subscriptions). */
  servicePrincipalId: string;
  secrets: Set<string>;
  /** Public keys by upper-case hex thumbprint (SHA-1 and SHA-256 of the same certificate). */
  certificates: Map<string, KeyObject>;
  roles: GraphRole[];
}

export interface AppOptions {
  clientId?: string;
  displayName?: string;
  secret?: string;
  /** PEM certificate(s) the app authenticates with (uploaded "Certificates & secrets"). */
  certificatePem?: string | string[];
  roles?: GraphRole[];
}

export const DEFAULT_ROLES: GraphRole[] = ['Calendars.ReadWrite', 'MailboxSettings.Read'];

export class AppRegistrations {
  private readonly apps = new Map<string, AppRegistration>();

  register(opts: AppOptions): AppRegistration {
    const clientId = (opts.clientId ?? randomUUID()).toLowerCase();
    const app: AppRegistration = this.apps.get(clientId) ?? {
      clientId,
      displayName: opts.displayName ?? 'maintenance-windows',
      servicePrincipalId: randomUUID(),
      secrets: new Set(),
      certificates: new Map(),
      roles: [...DEFAULT_ROLES],
    };
    if (opts.secret !== undefined) app.secrets.add(opts.secret);
    for (const pem of opts.certificatePem === undefined ? [] : [opts.certificatePem].flat()) {
      const cert = new X509Certificate(pem);
      app.certificates.set(createHash('sha1').update(cert.raw).digest('hex').toUpperCase(), cert.publicKey);
      app.certificates.set(createHash('sha256').update(cert.raw).digest('hex').toUpperCase(), cert.publicKey);
    }
    if (opts.roles) app.roles = [...opts.roles];
    this.apps.set(clientId, app);
    return app;
  }

  get(clientId: string): AppRegistration | undefined {
    return this.apps.get(clientId.toLowerCase());
  }
}
