import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../../src/config';

describe('webhook configuration', () => {
  it('defaults: no signature, 30 s timeout, budget until the window ends + 30 min, no rate cap, 32 in flight', () => {
    expect(loadConfig({}).webhook).toEqual({ secret: undefined, timeoutSeconds: 30, retryBudgetSeconds: undefined, concurrency: 32 });
  });

  it('reads WEBHOOK_MAX_PER_SECOND (fractions allowed: 0.5 is one every 2 s) and WEBHOOK_CONCURRENCY', () => {
    expect(loadConfig({ WEBHOOK_MAX_PER_SECOND: '10', WEBHOOK_CONCURRENCY: '4' }).webhook).toMatchObject({ maxPerSecond: 10, concurrency: 4 });
    expect(loadConfig({ WEBHOOK_MAX_PER_SECOND: '0.5' }).webhook.maxPerSecond).toBe(0.5);
  });

  it('reads WEBHOOK_SECRET, WEBHOOK_TIMEOUT_SECONDS and WEBHOOK_RETRY_BUDGET_SECONDS', () => {
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const c = loadConfig({ WEBHOOK_SECRET: secret, WEBHOOK_TIMEOUT_SECONDS: '5', WEBHOOK_RETRY_BUDGET_SECONDS: '600' });
    expect(c.webhook).toEqual({ secret, timeoutSeconds: 5, retryBudgetSeconds: 600, concurrency: 32 });
  });

  it.each([
    ['WEBHOOK_SECRET', 'secret123secret123', 'must start with whsec_'],
    ['WEBHOOK_SECRET', 'whsec_%%%%', 'must be whsec_ followed by base64'],
    ['WEBHOOK_TIMEOUT_SECONDS', '0', 'must be at least 1'],
    ['WEBHOOK_TIMEOUT_SECONDS', 'soon', 'must be a number'],
    ['WEBHOOK_RETRY_BUDGET_SECONDS', '1.5', 'must be a whole number'],
    ['WEBHOOK_MAX_PER_SECOND', '0', 'must be at least 0.01'],
    ['WEBHOOK_MAX_PER_SECOND', 'lots', 'must be a number'],
    ['WEBHOOK_CONCURRENCY', '0', 'must be at least 1'],
    ['WEBHOOK_CONCURRENCY', '2.5', 'must be a whole number'],
  ])('%s=%j stops the daemon with a line naming it', (variable, value, problem) => {
    let error: unknown;
    try {
      loadConfig({ [variable]: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as Error).message).toContain(`invalid configuration: ${variable} ${problem}`);
  });

  it('never prints the secret', () => {
    expect(() => loadConfig({ WEBHOOK_SECRET: 'whsec_c2hvcnQ=' })).toThrow('(got "<redacted>")');
  });

  describe('RESOLUTION_WEBHOOK_HEADERS', () => {
    it('accepts a JSON object or "Name: value" lines (real or written \\n newlines); names are lower-cased', () => {
      const expected = { authorization: 'Bearer abc123def456', 'x-team': 'it ops' };
      expect(loadConfig({ RESOLUTION_WEBHOOK_HEADERS: '{"Authorization":"Bearer abc123def456","X-Team":"it ops"}' }).webhook.extraHeaders).toEqual(expected);
      expect(loadConfig({ RESOLUTION_WEBHOOK_HEADERS: 'Authorization: Bearer abc123def456\nX-Team: it ops' }).webhook.extraHeaders).toEqual(expected);
      expect(loadConfig({ RESOLUTION_WEBHOOK_HEADERS: 'Authorization: Bearer abc123def456\\nX-Team: it ops' }).webhook.extraHeaders).toEqual(expected);
      expect(loadConfig({ RESOLUTION_WEBHOOK_HEADERS: '' }).webhook.extraHeaders).toBeUndefined();
    });

    it.each([
      ['{"Authorization": 5}', 'must have a string value'],
      ['["Authorization"]', 'must be a JSON object'],
      ['{not json', 'must be a JSON object'],
      ['Authorization Bearer abc', 'without "Name: value"'],
      ['Bad Name: x', 'invalid header name'],
      ['Content-Type: text/plain', 'may not set Content-Type'],
      ['webhook-signature: v1,forged', 'may not set webhook-signature'],
      ['X-A: 1\nx-a: 2', 'names x-a twice'],
      ['{"X-A":"line\\r\\nInjected: yes"}', 'invalid value'],
      ['X-A:', 'invalid value'],
    ])('%j stops the daemon naming the variable, never echoing the value', (value, problem) => {
      let error: unknown;
      try {
        loadConfig({ RESOLUTION_WEBHOOK_HEADERS: value });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe('RESOLUTION_WEBHOOK_HEADERS');
      expect((error as Error).message).toContain(`invalid configuration: RESOLUTION_WEBHOOK_HEADERS `);
      expect((error as Error).message).toContain(problem);
      expect((error as Error).message).toContain('(got "<redacted>")');
    });
  });
});
