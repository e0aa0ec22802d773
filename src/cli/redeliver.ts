import { request } from 'undici';
import type { Config } from '../config';
import { CliError } from './io';

export interface RedeliverResult {
  ok: boolean;
  status: number;
  /** The daemon's answer: `{remediation, delivery, webhook_id}` on 202, its error otherwise. */
  body: Record<string, unknown>;
}

/** Asks the running daemon to send a remediation's resolution webhook again (POST …/redeliver, admin token). */
export async function redeliver(config: Config, opts: { id: string; url?: string }): Promise<RedeliverResult> {
  const base = (opts.url ?? `http://localhost:${config.http.port}`).replace(/\/+$/, '');
  if (!/^https?:\/\//.test(base)) throw new CliError(`--url must be an http(s) URL (got ${JSON.stringify(opts.url)})`);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (config.adminToken) headers.authorization = `Bearer ${config.adminToken}`;
  let res;
  try {
    res = await request(`${base}/v1/remediations/${encodeURIComponent(opts.id)}/redeliver`, { method: 'POST', headers, headersTimeout: 15_000, bodyTimeout: 15_000 });
  } catch (err) {
    const e = err as { message?: string; code?: string; cause?: { code?: string } };
    throw new CliError(`the daemon does not answer at ${base}: ${e.code ?? e.cause?.code ?? e.message}`);
  }
  const text = await res.body.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { message: text.slice(0, 500) };
  }
  return { ok: res.statusCode === 202, status: res.statusCode, body };
}
