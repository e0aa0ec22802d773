import { ConfigError, loadConfig } from '../../src/config';
import { retryAfterMs } from '../../src/fleet/fleet-client';

describe('Fleet as the source of truth: configuration', () => {
  it('defaults: sync every 300 s, follow-up 60 min after a fired window, fire regardless of online status', () => {
    expect(loadConfig({}).fleetSync).toEqual({ intervalSeconds: 300, rebookAfterFireMinutes: 60, requireOnline: false });
  });

  it('reads the variables', () => {
    const c = loadConfig({ FLEET_SYNC_INTERVAL_SECONDS: '60', REBOOK_AFTER_FIRE_MINUTES: '0', FLEET_REQUIRE_ONLINE: 'true' });
    expect(c.fleetSync).toEqual({ intervalSeconds: 60, rebookAfterFireMinutes: 0, requireOnline: true });
  });

  it.each([
    ['FLEET_SYNC_INTERVAL_SECONDS', '0', /FLEET_SYNC_INTERVAL_SECONDS must be at least 1/],
    ['FLEET_SYNC_INTERVAL_SECONDS', 'often', /FLEET_SYNC_INTERVAL_SECONDS must be a number/],
    ['REBOOK_AFTER_FIRE_MINUTES', '-5', /REBOOK_AFTER_FIRE_MINUTES must be 0 or more/],
    ['FLEET_REQUIRE_ONLINE', 'yes', /FLEET_REQUIRE_ONLINE must be true or false/],
  ])('a bad %s (%s) stops the daemon naming it', (variable, value, message) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(message);
  });
});

describe("Fleet's Retry-After", () => {
  const NOW = Date.parse('2026-11-24T09:00:00Z');
  it('seconds or an HTTP date; absent or unreadable → 60 s; capped at 15 min', () => {
    expect(retryAfterMs('2', NOW)).toBe(2000);
    expect(retryAfterMs(new Date(NOW + 30_000).toUTCString(), NOW)).toBe(30_000);
    expect(retryAfterMs(undefined, NOW)).toBe(60_000);
    expect(retryAfterMs('soon', NOW)).toBe(60_000);
    expect(retryAfterMs('86400', NOW)).toBe(15 * 60_000);
  });
});
