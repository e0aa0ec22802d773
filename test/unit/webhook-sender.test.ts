import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { HttpResolutionSender } from '../../src/webhook/resolution-webhook';
import { ScriptedReceiver } from '../support/scripted-receiver';

const secret = `whsec_${randomBytes(32).toString('base64')}`;
const body = JSON.stringify({ timestamp: '2026-11-24T09:00:00.012+01:00', host_id: 7, host_display_name: 'Zoë’s Mac', host_serial_number: 'C02', failing_policies: [{ id: 1, name: 'FileVault ✓' }] });

describe('HttpResolutionSender (undici) against a real receiver', () => {
  let receiver: ScriptedReceiver;
  beforeEach(async () => {
    receiver = await new ScriptedReceiver().start();
  });
  afterEach(async () => {
    await receiver.close();
  });

  it('POSTs exactly the bytes it signs, with Standard Webhooks headers', async () => {
    const sender = new HttpResolutionSender({ url: `${receiver.url}/hook`, secret });
    expect(await sender.send({ id: 'msg_h7-1_b1_d1', body })).toEqual({ kind: 'answered', status: 200, retryAfter: undefined });
    const [req] = receiver.requests;
    expect(req.method).toBe('POST');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.raw.equals(Buffer.from(body, 'utf8'))).toBe(true);
    expect(req.headers['webhook-id']).toBe('msg_h7-1_b1_d1');
    expect(Math.abs(Number(req.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
    expect(new Webhook(secret).verify(req.raw, req.headers as Record<string, string>)).toEqual(JSON.parse(body));
  });

  it('sends RESOLUTION_WEBHOOK_HEADERS with every attempt, without replacing its own headers', async () => {
    const sender = new HttpResolutionSender({ url: `${receiver.url}/hook`, secret, extraHeaders: { authorization: 'Bearer receiver-token-123', 'x-team': 'it' } });
    expect(await sender.send({ id: 'msg_h7-1_b1_d1', body })).toEqual({ kind: 'answered', status: 200, retryAfter: undefined });
    expect(await sender.send({ id: 'msg_h7-1_b1_d1', body })).toEqual({ kind: 'answered', status: 200, retryAfter: undefined });
    expect(receiver.requests).toHaveLength(2);
    for (const req of receiver.requests) {
      expect(req.headers.authorization).toBe('Bearer receiver-token-123');
      expect(req.headers['x-team']).toBe('it');
      expect(req.headers['content-type']).toBe('application/json');
      expect(new Webhook(secret).verify(req.raw, req.headers as Record<string, string>)).toEqual(JSON.parse(body));
    }
  });

  it('reports the status and Retry-After of a refusal', async () => {
    receiver.answer({ status: 503, headers: { 'retry-after': '3' } });
    const sender = new HttpResolutionSender({ url: receiver.url });
    expect(await sender.send({ id: 'msg_a', body })).toEqual({ kind: 'answered', status: 503, retryAfter: '3' });
    expect(receiver.requests[0].headers['webhook-signature']).toBeUndefined();
  });

  it('gives up on a receiver that never answers after the timeout', async () => {
    receiver.answer({ hang: true });
    const sender = new HttpResolutionSender({ url: receiver.url, timeoutMs: 300 });
    const started = Date.now();
    const result = await sender.send({ id: 'msg_a', body });
    expect(result).toEqual({ kind: 'no_answer', error: 'no answer within 0.3 s (timed out)' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('reports a refused connection', async () => {
    const gone = await new ScriptedReceiver().start();
    await gone.close();
    const result = await new HttpResolutionSender({ url: gone.url }).send({ id: 'msg_a', body });
    expect(result.kind).toBe('no_answer');
    expect(result.kind === 'no_answer' && result.error).toMatch(/^receiver unreachable: .*ECONNREFUSED/);
  });
});
