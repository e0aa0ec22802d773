import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { decodeWebhookSecret, WebhookSecretError, WebhookSigner, webhookHeaders } from '../../src/webhook/webhook-signer';

const secret = `whsec_${randomBytes(32).toString('base64')}`;

describe('Standard Webhooks signing', () => {
  it('produces headers the standardwebhooks package verifies, over exactly the bytes given', () => {
    const body = Buffer.from(JSON.stringify({ host_id: 1, host_display_name: 'Zoë’s Mac ✓', failing_policies: [] }), 'utf8');
    const now = Math.floor(Date.now() / 1000);
    const headers = webhookHeaders('msg_h1-1_b1_d1', now, body, new WebhookSigner(secret));
    expect(headers['webhook-id']).toBe('msg_h1-1_b1_d1');
    expect(headers['webhook-timestamp']).toBe(String(now));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, headers as unknown as Record<string, string>)).toEqual(JSON.parse(body.toString()));
  });

  it('matches the reference implementation byte for byte', () => {
    const body = Buffer.from('{"a":"ü"}', 'utf8');
    const at = new Date(1_790_000_000_000);
    const ours = new WebhookSigner(secret).sign('msg_x', Math.floor(at.getTime() / 1000), body);
    expect(ours).toBe(new Webhook(secret).sign('msg_x', at, body));
  });

  it('a changed byte, id or timestamp fails verification', () => {
    const body = Buffer.from('{"host_id":1}');
    const now = Math.floor(Date.now() / 1000);
    const headers = webhookHeaders('msg_a', now, body, new WebhookSigner(secret)) as unknown as Record<string, string>;
    const wh = new Webhook(secret);
    expect(() => wh.verify('{"host_id":2}', headers)).toThrow();
    expect(() => wh.verify(body, { ...headers, 'webhook-id': 'msg_b' })).toThrow();
    expect(() => wh.verify(body, { ...headers, 'webhook-timestamp': String(now - 1) })).toThrow();
  });

  it('without a secret sends id and timestamp only', () => {
    expect(webhookHeaders('msg_a', 5, Buffer.from('{}'))).toEqual({ 'webhook-id': 'msg_a', 'webhook-timestamp': '5' });
  });

  it.each([
    ['abc', 'must start with whsec_'],
    ['whsec_', 'followed by base64'],
    ['whsec_not base64!', 'followed by base64'],
    [`whsec_${randomBytes(8).toString('base64')}`, 'at least 16 bytes'],
  ])('rejects the secret %j', (bad, problem) => {
    expect(() => decodeWebhookSecret(bad)).toThrow(WebhookSecretError);
    expect(() => decodeWebhookSecret(bad)).toThrow(problem);
  });

  it('decodes the key bytes after the prefix', () => {
    const key = randomBytes(24);
    expect(decodeWebhookSecret(`whsec_${key.toString('base64')}`).equals(key)).toBe(true);
  });
});
