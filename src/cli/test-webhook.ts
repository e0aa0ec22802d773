import { randomBytes } from 'node:crypto';
import type { Config } from '../config';
import type { ResolutionPayload } from '../domain/remediation';
import { proxyDispatcher } from '../lib/outbound-proxy';
import { HttpResolutionSender } from '../webhook/resolution-webhook';
import { CliError } from './io';

export interface TestWebhookResult {
  url: string;
  webhook_id: string;
  signed: boolean;
  payload: ResolutionPayload;
  /** The receiver's HTTP status, or null when none came. */
  status: number | null;
  error: string | null;
  ok: boolean;
}

/**
 * Sends one sample resolution webhook exactly as a window's start would (Fleet's payload, Standard Webhooks
 * headers, signed with WEBHOOK_SECRET by the daemon's own sender), with a `webhook-id` starting `test_` so a
 * receiver can tell it from a real one.
 */
export async function testWebhook(config: Config, opts: { url?: string; now: number }): Promise<TestWebhookResult> {
  const url = opts.url ?? config.resolutionWebhookUrl;
  if (!url) throw new CliError('no receiver: set RESOLUTION_WEBHOOK_URL or pass --url');
  if (!/^https?:\/\//.test(url)) throw new CliError(`--url must be an http(s) URL (got ${JSON.stringify(url)})`);
  const payload: ResolutionPayload = {
    timestamp: new Date(opts.now).toISOString(),
    host_id: 0,
    host_display_name: 'Test host (maintenance-windows test-webhook)',
    host_serial_number: 'TEST-SERIAL-0000',
    failing_policies: [{ id: 0, name: 'Test policy (maintenance-windows test-webhook)' }],
  };
  const webhookId = `test_${randomBytes(12).toString('hex')}`;
  const dispatcher = proxyDispatcher(config.outboundProxy);
  // As the daemon sends resolution webhooks: signed, with RESOLUTION_WEBHOOK_HEADERS, through the outbound proxy.
  const sender = new HttpResolutionSender({
    url,
    secret: config.webhook.secret,
    extraHeaders: config.webhook.extraHeaders,
    timeoutMs: config.webhook.timeoutSeconds * 1000,
    dispatcher,
  });
  try {
    const result = await sender.send({ id: webhookId, body: JSON.stringify(payload) });
    const status = result.kind === 'answered' ? result.status : null;
    return {
      url,
      webhook_id: webhookId,
      signed: config.webhook.secret !== undefined,
      payload,
      status,
      error: result.kind === 'answered' ? null : result.error,
      ok: status !== null && status >= 200 && status < 300,
    };
  } finally {
    await dispatcher?.close();
  }
}
