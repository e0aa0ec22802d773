/**
 * The test vector the README gives receivers ("Webhook receivers"): a secret, a webhook-id, a webhook-timestamp and
 * a body with the signature they must compute. Checked with the project's signer and with the `standardwebhooks`
 * package, so the README can never drift from what the daemon sends.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { WebhookSigner, webhookHeaders } from '../../src/webhook/webhook-signer';

const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_h42-1_mi3k2x1c_b0_d1',
  timestamp: 1795528800,
  body: '{"timestamp":"2026-11-24T09:00:00.000-05:00","host_id":42,"host_display_name":"Alice\'s MacBook","host_serial_number":"C02XYZ","failing_policies":[{"id":7,"name":"Disk encryption enabled"}]}',
  signature: 'v1,p7vnTuHi/y/5CtNq5YQVko0ExD2c1PpOyj29U6//x5k=',
};

describe('the README’s webhook test vector', () => {
  afterEach(() => jest.useRealTimers());

  it('is what the project’s signer produces', () => {
    const body = Buffer.from(VECTOR.body, 'utf8');
    expect(new WebhookSigner(VECTOR.secret).sign(VECTOR.id, VECTOR.timestamp, body)).toBe(VECTOR.signature);
    expect(webhookHeaders(VECTOR.id, VECTOR.timestamp, body, new WebhookSigner(VECTOR.secret))).toEqual({
      'webhook-id': VECTOR.id,
      'webhook-timestamp': String(VECTOR.timestamp),
      'webhook-signature': VECTOR.signature,
    });
  });

  it('is what the standardwebhooks package signs and verifies (at the message’s time)', () => {
    const wh = new Webhook(VECTOR.secret);
    expect(wh.sign(VECTOR.id, new Date(VECTOR.timestamp * 1000), VECTOR.body)).toBe(VECTOR.signature);
    jest.useFakeTimers({ now: VECTOR.timestamp * 1000 + 30_000 });
    const headers = { 'webhook-id': VECTOR.id, 'webhook-timestamp': String(VECTOR.timestamp), 'webhook-signature': VECTOR.signature };
    expect(wh.verify(VECTOR.body, headers)).toEqual(JSON.parse(VECTOR.body));
    expect(() => wh.verify(VECTOR.body.replace('42', '43'), headers)).toThrow();
  });

  it('is the one the README prints', () => {
    const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
    for (const value of [VECTOR.secret, VECTOR.id, String(VECTOR.timestamp), VECTOR.body, VECTOR.signature]) expect(readme).toContain(value);
  });
});
