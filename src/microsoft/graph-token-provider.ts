import { ConfidentialClientApplication, type Configuration } from '@azure/msal-node';
import type { Dispatcher } from 'undici';
import { thumbprintSha256 } from './client-certificate';
import { createMsalNetworkClient } from './msal-network-client';

export type MicrosoftCredential = { kind: 'secret'; secret: string } | { kind: 'certificate'; certificatePem: string; privateKeyPem: string };

/** Entra's own hosts (global and national clouds): MSAL discovers them itself; any other host is listed as known. */
const ENTRA_HOSTS = new Set(['login.microsoftonline.com', 'login.microsoftonline.us', 'login.chinacloudapi.cn', 'login.partner.microsoftonline.cn']);
const GRAPH_HOSTS = new Set(['graph.microsoft.com', 'graph.microsoft.us', 'dod-graph.microsoft.us', 'microsoftgraph.chinacloudapi.cn']);

export interface GraphTokenProviderOptions {
  tenantId: string;
  clientId: string;
  credential: MicrosoftCredential;
  /** With a trailing slash: the authority is `${loginUrl}${tenantId}`. */
  loginUrl: string;
  /** Graph's root: a national cloud's Graph asks for its own scope; an emulator answers for the global one. */
  graphUrl: string;
  dispatcher?: Dispatcher;
  timeoutMs?: number;
}

/**
 * App-only tokens for Graph: MSAL's client-credentials flow with a secret or a certificate (a signed assertion
 * naming the certificate by its SHA-256 thumbprint). MSAL keeps the token in memory and renews it before it
 * expires; `token(true)` skips that cache (after a 401).
 */
export class GraphTokenProvider {
  private readonly msal: ConfidentialClientApplication;
  private readonly scope: string;

  constructor(o: GraphTokenProviderOptions) {
    const loginHost = new URL(o.loginUrl).host;
    const graph = new URL(o.graphUrl);
    this.scope = GRAPH_HOSTS.has(graph.hostname) ? `${graph.origin}/.default` : 'https://graph.microsoft.com/.default';
    const auth: Configuration['auth'] = {
      clientId: o.clientId,
      authority: `${o.loginUrl}${o.tenantId}`,
      ...(ENTRA_HOSTS.has(new URL(o.loginUrl).hostname) ? {} : { knownAuthorities: [loginHost] }),
      ...(o.credential.kind === 'secret'
        ? { clientSecret: o.credential.secret }
        : { clientCertificate: { thumbprintSha256: thumbprintSha256(o.credential.certificatePem), privateKey: o.credential.privateKeyPem, x5c: o.credential.certificatePem } }),
    };
    this.msal = new ConfidentialClientApplication({
      auth,
      system: { networkClient: createMsalNetworkClient({ dispatcher: o.dispatcher, timeoutMs: o.timeoutMs }) },
    });
  }

  async token(refresh = false): Promise<string> {
    const result = await this.msal.acquireTokenByClientCredential({ scopes: [this.scope], ...(refresh ? { skipCache: true } : {}) });
    if (!result?.accessToken) throw new Error('Microsoft Entra returned no access token');
    return result.accessToken;
  }
}
