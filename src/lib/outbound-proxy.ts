import { EnvHttpProxyAgent, fetch as undiciFetch, type Dispatcher } from 'undici';

/**
 * The operator's outbound proxy (HTTPS_PROXY / HTTP_PROXY / NO_PROXY, read by config). Node's fetch and undici
 * do not honour these variables by themselves, and gaxios' proxy agent is ignored by fetch, so every outbound
 * client (Google, Fleet, the resolution webhook) is given this dispatcher explicitly.
 */
export interface OutboundProxy {
  httpProxy?: string;
  httpsProxy?: string;
  /** Comma-separated hosts, domains (`.example.com`), `host:port` or `*`, as curl reads NO_PROXY. */
  noProxy?: string;
}

/** One dispatcher for every outbound request, or undefined when no proxy is configured (direct connections). */
export function proxyDispatcher(proxy: OutboundProxy | undefined): Dispatcher | undefined {
  if (!proxy?.httpProxy && !proxy?.httpsProxy) return undefined;
  // Empty strings, never undefined: undici would otherwise read process.env itself, and config is the one source.
  return new EnvHttpProxyAgent({ httpProxy: proxy.httpProxy ?? '', httpsProxy: proxy.httpsProxy ?? '', noProxy: proxy.noProxy ?? '' });
}

/** A fetch for gaxios (googleapis, google-auth-library) that goes through the dispatcher; Node's own without one. */
export function fetchThrough(dispatcher: Dispatcher | undefined): typeof fetch {
  if (!dispatcher) return fetch;
  const proxied = (input: Parameters<typeof fetch>[0], init?: RequestInit) =>
    undiciFetch(input as Parameters<typeof undiciFetch>[0], { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher });
  return proxied as unknown as typeof fetch;
}

/** The proxy URL without its credentials, for logs. */
export function describeProxy(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '<invalid>';
  }
}
