import { DEFAULT_MAINTENANCE_CONFIG, DEFAULT_MAINTENANCE_RULES } from '../../src/domain/maintenance-rules';
import { configInForce, loadMaintenanceConfig, MaintenanceConfigError, MaintenanceConfigHolder, parseMaintenanceConfig } from '../../src/maintenance-config';

const ISSUE_EXAMPLE = `
defaults:
  window:
    rrule: "FREQ=WEEKLY;BYDAY=TU"
    start: "09:00"
    end: "17:00"
    slot_minutes: 30
  rebook_rrule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
  time_zone: owner
  fallback_time_zone: America/New_York
  blackout_dates: ["2026-12-24", "2026-12-25"]
  deadline_days: null
  max_deferrals: null
  resolution_webhook_url: null
  event:
    title: "Scheduled maintenance"
    description: null
teams:
  "5": { window: { rrule: "FREQ=WEEKLY;BYDAY=TH", start: "13:00", end: "15:00", slot_minutes: 60 } }
policies:
  "7": { deadline_days: 2, max_deferrals: 1, window: { rrule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR" } }
`;

function errorOf(text: string): string {
  try {
    parseMaintenanceConfig(text, 'mw.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(MaintenanceConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the file to be rejected');
}

describe('maintenance configuration file', () => {
  it('absent file: today’s defaults exactly', () => {
    expect(loadMaintenanceConfig(undefined)).toBe(DEFAULT_MAINTENANCE_CONFIG);
    expect(loadMaintenanceConfig('')).toBe(DEFAULT_MAINTENANCE_CONFIG);
    expect(DEFAULT_MAINTENANCE_RULES).toEqual({
      window: { rrule: 'FREQ=WEEKLY;BYDAY=TU', start: '09:00', end: '17:00', slot_minutes: 30 },
      rebook_rrule: 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR',
      time_zone: 'owner',
      fallback_time_zone: 'America/New_York',
      blackout_dates: [],
      deadline_days: null,
      max_deferrals: null,
      resolution_webhook_url: null,
      event: { title: 'Scheduled maintenance', description: null },
    });
  });

  it('reads the issue’s example, keeping team and policy overrides as written', () => {
    const config = parseMaintenanceConfig(ISSUE_EXAMPLE, 'mw.yaml');
    expect(config.defaults.blackout_dates).toEqual(['2026-12-24', '2026-12-25']);
    expect(config.teams['5']).toEqual({ window: { rrule: 'FREQ=WEEKLY;BYDAY=TH', start: '13:00', end: '15:00', slot_minutes: 60 } });
    expect(config.policies['7']).toEqual({ deadline_days: 2, max_deferrals: 1, window: { rrule: 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR' } });
  });

  it('accepts JSON and partial defaults (the rest filled in)', () => {
    const config = parseMaintenanceConfig('{"defaults":{"window":{"start":"10:00","end":"16:00"},"deadline_days":3}}', 'mw.json');
    expect(config.defaults.window).toEqual({ rrule: 'FREQ=WEEKLY;BYDAY=TU', start: '10:00', end: '16:00', slot_minutes: 30 });
    expect(config.defaults.deadline_days).toBe(3);
    expect(config.defaults.fallback_time_zone).toBe('America/New_York');
    expect(parseMaintenanceConfig('', 'empty.yaml').defaults).toEqual(DEFAULT_MAINTENANCE_RULES);
  });

  it.each([
    ['teams:\n  "5": { window: { rrule: "BYDAY=TH" } }', 'mw.yaml: teams.5.window.rrule: must have FREQ'],
    ['defaults: { window: { rrule: "FREQ=WEEKLY;BYDAY=TU;BYHOUR=9" } }', 'mw.yaml: defaults.window.rrule: BYHOUR is not allowed'],
    ['defaults: { window: { rrule: "FREQ=HOURLY" } }', 'defaults.window.rrule: FREQ must be YEARLY, MONTHLY, WEEKLY or DAILY'],
    ['defaults: { window: { rrule: "FREQ=DAILY;COUNT=3" } }', 'defaults.window.rrule: COUNT is not allowed'],
    ['defaults: { window: { rrule: "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30" } }', 'defaults.window.rrule: matches no date'],
    ['defaults: { rebook_rrule: "FREQ=WEEKLY;BYDAY=XX" } ', 'defaults.rebook_rrule: not a valid RRULE'],
    ['defaults: { window: { start: "9:00" } }', 'defaults.window.start: must be "HH:mm"'],
    ['defaults: { window: { start: "17:00", end: "09:00" } }', 'defaults.window: start 17:00 must be before end 09:00'],
    ['defaults: { window: { start: "09:00", end: "09:20" } }', 'defaults.window: no 30-minute slot fits between 09:00 and 09:20'],
    ['teams: { "5": { window: { slot_minutes: 600 } } }', 'teams.5.window: no 600-minute slot fits'],
    ['teams: { "5": { window: { start: "16:00" } } }\npolicies: { "7": { window: { slot_minutes: 90 } } }', 'policies.7.window: with team 5: no 90-minute slot fits'],
    ['defaults: { time_zone: "Mars/Olympus" }', 'defaults.time_zone: must be "owner" or an IANA time zone'],
    ['defaults: { fallback_time_zone: "EST5EDT-nope" }', 'defaults.fallback_time_zone: must be an IANA time zone'],
    ['defaults: { blackout_dates: ["2026-02-30"] }', 'defaults.blackout_dates.0: must be a real date'],
    ['defaults: { resolution_webhook_url: "ftp://x.example" }', 'defaults.resolution_webhook_url: must be an http(s) URL'],
    ['defaults: { deadline_days: -1 }', 'defaults.deadline_days:'],
    ['defaults: { max_deferrals: 1.5 }', 'defaults.max_deferrals:'],
    ['defaults: { event: { description: "Hi {{owner}}" } }', 'defaults.event.description: unknown placeholder {{owner}}'],
    ['defaults: { windw: {} }', 'defaults: '],
    ['teams: { "blue": {} }', 'teams.blue: must be a numeric id'],
    ['defaults: [1, 2', 'mw.yaml: not valid YAML/JSON'],
    ['- 1\n- 2', 'mw.yaml: must be a mapping'],
  ])('rejects %j with one line naming the path', (text, expected) => {
    const message = errorOf(text);
    expect(message).toContain(expected);
    expect(message).not.toContain('\n');
    expect(message.startsWith('mw.yaml: ')).toBe(true);
  });

  it('names every problem of the file at once', () => {
    const message = errorOf('defaults: { window: { start: "x" }, fallback_time_zone: "Nowhere/Else" }');
    expect(message).toContain('defaults.window.start');
    expect(message).toContain('defaults.fallback_time_zone');
  });

  it('an unreadable file is one line naming it', () => {
    expect(() => loadMaintenanceConfig('/nonexistent/mw.yaml')).toThrow('/nonexistent/mw.yaml: cannot read the file (ENOENT)');
  });

  it('configuration in force: teams and policies with every field filled in', () => {
    const view = configInForce(parseMaintenanceConfig(ISSUE_EXAMPLE, 'mw.yaml'), 'mw.yaml');
    expect(view.teams['5']).toEqual({ ...view.defaults, window: { rrule: 'FREQ=WEEKLY;BYDAY=TH', start: '13:00', end: '15:00', slot_minutes: 60 } });
    expect(view.policies['7']).toMatchObject({ deadline_days: 2, max_deferrals: 1, window: { start: '09:00', slot_minutes: 30 } });
    expect(JSON.parse(JSON.stringify(view))).toEqual(view);
  });

  it('holder: a valid reload applies, an invalid one keeps the old configuration and returns the error', () => {
    let text = 'defaults: { window: { start: "10:00" } }';
    const holder = new MaintenanceConfigHolder('mw.yaml', (file) => loadMaintenanceConfig(file, () => text));
    expect(holder.current().defaults.window.start).toBe('10:00');
    text = 'defaults: { window: { start: "11:00" } }';
    expect(holder.reload()).toMatchObject({ ok: true });
    expect(holder.current().defaults.window.start).toBe('11:00');
    text = 'defaults: { window: { start: "25:00" } }';
    const result = holder.reload();
    expect(result).toEqual({ ok: false, error: expect.stringContaining('mw.yaml: defaults.window.start') });
    expect(holder.current().defaults.window.start).toBe('11:00');
    expect(holder.view().defaults.window.start).toBe('11:00');
  });

  it('the shipped example file is valid', () => {
    const config = loadMaintenanceConfig(`${__dirname}/../../config/maintenance.example.yaml`);
    expect(config.defaults.window.rrule).toBeDefined();
  });
});
