/**
 * An MSAL Node network client (`system.networkClient`) on undici with a chosen dispatcher: a proxy agent in
 * production (MSAL's built-in client uses the global fetch and no proxy), or an agent that trusts the Graph
 * emulator's self-signed certificate in tests (MSAL only accepts https:// authorities).
 */
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import { request, type Dispatcher } from 'undici';

export interface MsalNetworkClientOptions {
  dispatcher?: Dispatcher;
  /** Per-request limit when MSAL gives none (MSAL passes a timeout only for some GETs). Default 30 s. */
  timeoutMs?: number;
}

export function createMsalNetworkClient(opts: MsalNetworkClientOptions = {}): INetworkModule {
  const defaultTimeout = opts.timeoutMs ?? 30_000;

  async function send<T>(method: 'GET' | 'POST', url: string, options: NetworkRequestOptions | undefined, timeout?: number): Promise<NetworkResponse<T>> {
    const signal = AbortSignal.timeout(timeout ?? defaultTimeout);
    const res = await request(url, {
      method,
      headers: options?.headers,
      body: method === 'POST' ? (options?.body ?? '') : undefined,
      dispatcher: opts.dispatcher,
      signal,
    });
    const text = await res.body.text();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    let body: unknown;
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      // MSAL reads error bodies as JSON; hand it something it can report rather than a parse failure.
      body = { error: 'invalid_response', error_description: `non-JSON response (HTTP ${res.statusCode})` };
    }
    return { headers, body: body as T, status: res.statusCode };
  }

  return {
    sendGetRequestAsync: <T>(url: string, options?: NetworkRequestOptions, timeout?: number) => send<T>('GET', url, options, timeout),
    sendPostRequestAsync: <T>(url: string, options?: NetworkRequestOptions) => send<T>('POST', url, options),
  };
}
