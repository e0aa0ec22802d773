import { buildEventDescription, buildTemplatedDescription } from '../../src/domain/event-text';
import { decideDeferral, deferralsLeft } from '../../src/domain/deferral-rules';
import { escapeHtml, renderTemplate, unknownPlaceholders } from '../../src/domain/event-template';
import { bookingZone, governingRules, groupByWebhookUrl, rulesFor } from '../../src/domain/maintenance-resolution';
import { DEFAULT_MAINTENANCE_RULES } from '../../src/domain/maintenance-rules';
import { chooseRebookWindow, chooseWindow, deadlineOf, firstAllowedDay, latestSlotBeforeDeadline } from '../../src/domain/policy-slot-search';
import { matchesDate, matchingDates, rruleProblem } from '../../src/domain/rrule-days';
import { parseMaintenanceConfig } from '../../src/maintenance-config';

const config = parseMaintenanceConfig(
  `
defaults:
  blackout_dates: ["2026-12-24", "2026-12-25"]
teams:
  "5": { window: { rrule: "FREQ=WEEKLY;BYDAY=TH", start: "13:00", end: "15:00", slot_minutes: 60 }, resolution_webhook_url: "https://team5.example/hook" }
policies:
  "7": { deadline_days: 2, max_deferrals: 1, window: { rrule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR" } }
  "9": { deadline_days: 10, resolution_webhook_url: "https://p9.example/hook" }
`,
  'mw.yaml',
);
const NY = 'America/New_York';
const at = (iso: string) => Date.parse(iso);

describe('resolution: defaults ← team ← policy, field by field', () => {
  it('a team rule replaces only what it sets; a policy rule beats its team’s', () => {
    expect(rulesFor(config, 5, null).window).toEqual({ rrule: 'FREQ=WEEKLY;BYDAY=TH', start: '13:00', end: '15:00', slot_minutes: 60 });
    expect(rulesFor(config, 5, null).blackout_dates).toEqual(['2026-12-24', '2026-12-25']);
    expect(rulesFor(config, 5, 7).window).toEqual({ rrule: 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR', start: '13:00', end: '15:00', slot_minutes: 60 });
    expect(rulesFor(config, 5, 7)).toMatchObject({ deadline_days: 2, max_deferrals: 1 });
    expect(rulesFor(config, 6, 8)).toEqual(config.defaults);
    expect(rulesFor(config, null, null)).toEqual(config.defaults);
  });

  it('a host failing several policies follows the earliest deadline; none = latest; ties → lowest id', () => {
    const failed = at('2026-12-01T15:00:00Z');
    const g = governingRules(config, 5, [{ id: 9, firstFailure: failed }, { id: 3, firstFailure: failed }, { id: 7, firstFailure: failed }], NY);
    expect(g.policyId).toBe(7);
    expect(g.deadline).toBe(at('2026-12-04T05:00:00Z')); // end of Dec 3 in New York
    expect(governingRules(config, 5, [{ id: 4, firstFailure: failed }, { id: 3, firstFailure: failed }], NY)).toMatchObject({ policyId: 3, deadline: null });
    // Policy 9 first failed earlier, so its 10-day deadline can come before policy 7's 2 days.
    const g2 = governingRules(config, null, [{ id: 7, firstFailure: failed }, { id: 9, firstFailure: failed - 9 * 86400_000 }], NY);
    expect(g2.policyId).toBe(9);
    expect(governingRules(config, 5, [], NY)).toEqual({ policyId: null, rules: rulesFor(config, 5, null), deadline: null });
  });

  it('one webhook delivery per effective URL, each with its own policies', () => {
    const policies = [{ id: 9, name: 'nine' }, { id: 7, name: 'seven' }, { id: 1, name: 'one' }];
    expect(groupByWebhookUrl(config, 5, policies, 'https://default.example/')).toEqual([
      { url: 'https://team5.example/hook', policies: [{ id: 1, name: 'one' }, { id: 7, name: 'seven' }] },
      { url: 'https://p9.example/hook', policies: [{ id: 9, name: 'nine' }] },
    ]);
    expect(groupByWebhookUrl(config, null, [{ id: 1 }, { id: 7 }], 'https://default.example/')).toEqual([{ url: 'https://default.example/', policies: [{ id: 1 }, { id: 7 }] }]);
  });
});

describe('day rules', () => {
  it('matches local dates with rrule on floating UTC dates', () => {
    expect(matchingDates('FREQ=WEEKLY;BYDAY=TU', '2026-11-30', '2026-12-15')).toEqual(['2026-12-01', '2026-12-08', '2026-12-15']);
    expect(matchingDates('FREQ=MONTHLY;BYMONTHDAY=1,15', '2026-11-30', '2027-01-02')).toEqual(['2026-12-01', '2026-12-15', '2027-01-01']);
    expect(matchingDates('FREQ=MONTHLY;BYDAY=2TU', '2026-12-01', '2027-01-31')).toEqual(['2026-12-08', '2027-01-12']);
    expect(matchesDate('FREQ=DAILY', '2026-12-24')).toBe(true);
    expect(rruleProblem('RRULE:FREQ=WEEKLY;BYDAY=TU')).toBeNull();
    expect(rruleProblem('DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY')).toMatch(/without DTSTART/);
  });
});

describe('rules-based booking (examples)', () => {
  const busy: { start: string; end: string }[] = [];
  it('a team rule books Thursday 13:00–14:00 local', () => {
    const choice = chooseWindow({ now: at('2026-12-01T15:00:00Z'), zone: NY, rules: rulesFor(config, 5, null), busy, deadline: null });
    expect(choice).toMatchObject({ slot: { start: '2026-12-03T13:00:00.000-05:00', end: '2026-12-03T14:00:00.000-05:00' }, onlyTimeLeft: false, basis: 'allowed_day', reason: null });
  });

  it('blackout dates are skipped', () => {
    const day = firstAllowedDay(at('2026-12-23T15:00:00Z'), NY, { ...config.defaults, window: { ...config.defaults.window, rrule: 'FREQ=DAILY' } });
    expect(day?.date).toBe('2026-12-23');
    const later = firstAllowedDay(at('2026-12-23T23:00:00Z'), NY, { ...config.defaults, window: { ...config.defaults.window, rrule: 'FREQ=DAILY' } });
    expect(later?.date).toBe('2026-12-26');
  });

  it('no allowed day before the deadline: the latest free slot before it, any day, with the reason', () => {
    // Tuesdays only, failed Wednesday 2 Dec with 2 days: deadline end of Friday 4 Dec; Thursday 16:30 is busy.
    const rules = { ...DEFAULT_MAINTENANCE_RULES, deadline_days: 2 };
    const deadline = deadlineOf(at('2026-12-02T15:00:00Z'), 2, NY);
    expect(deadline).toBe(at('2026-12-05T05:00:00Z'));
    const choice = chooseWindow({ now: at('2026-12-02T15:00:00Z'), zone: NY, rules, busy: [{ start: '2026-12-04T16:30:00-05:00', end: '2026-12-04T17:00:00-05:00' }], deadline });
    expect(choice).toMatchObject({ slot: { start: '2026-12-04T16:00:00.000-05:00' }, onlyTimeLeft: false, basis: 'deadline' });
    expect(choice?.reason).toContain('before the deadline (end of 2026-12-04)');
  });

  it('a deadline caps a rebook', () => {
    const deadline = at('2026-12-03T05:00:00Z'); // end of Wednesday 2 Dec
    const choice = chooseRebookWindow({ originalDate: '2026-12-01', attempt: 1, now: at('2026-12-01T18:00:00Z'), zone: NY, rules: DEFAULT_MAINTENANCE_RULES, busy: [], deadline });
    expect(choice).toMatchObject({ day: { date: '2026-12-02' }, slot: { start: '2026-12-02T09:00:00.000-05:00' }, basis: 'allowed_day' });
    // The 3rd rebook would be Friday 4 Dec, after the deadline: the latest slot before it instead.
    const capped = chooseRebookWindow({ originalDate: '2026-12-01', attempt: 3, now: at('2026-12-01T18:00:00Z'), zone: NY, rules: DEFAULT_MAINTENANCE_RULES, busy: [], deadline });
    expect(capped).toMatchObject({ day: { date: '2026-12-02' }, slot: { start: '2026-12-02T16:30:00.000-05:00' }, basis: 'deadline' });
    expect(capped?.reason).toContain('deadline');
  });

  it('a passed deadline: the earliest allowed time, saying so', () => {
    const choice = chooseWindow({ now: at('2026-12-10T15:00:00Z'), zone: NY, rules: DEFAULT_MAINTENANCE_RULES, busy: [], deadline: at('2026-12-05T05:00:00Z') });
    expect(choice).toMatchObject({ slot: { start: '2026-12-15T09:00:00.000-05:00' }, basis: 'allowed_day' });
    expect(choice?.reason).toContain('has passed');
  });
});

describe('deferrals', () => {
  const accepted = { start: '2026-12-08T09:00:00-05:00', end: '2026-12-08T09:30:00-05:00' };
  const later = { kind: 'moved' as const, start: '2026-12-09T09:00:00-05:00', end: '2026-12-09T09:30:00-05:00' };
  const earlier = { kind: 'moved' as const, start: '2026-12-07T09:00:00-05:00', end: '2026-12-07T09:30:00-05:00' };

  it('moves later and deletes count up to max_deferrals and are followed; moving earlier is free', () => {
    expect(decideDeferral({ change: later, maxDeferrals: 1, deferralsUsed: 0, accepted, deadline: null })).toEqual({ action: 'follow', deferralsUsed: 1, reason: null });
    expect(decideDeferral({ change: { kind: 'deleted' }, maxDeferrals: 2, deferralsUsed: 1, accepted, deadline: null })).toEqual({ action: 'follow', deferralsUsed: 2, reason: null });
    expect(decideDeferral({ change: earlier, maxDeferrals: 1, deferralsUsed: 1, accepted, deadline: null })).toEqual({ action: 'follow', deferralsUsed: 1, reason: null });
    expect(decideDeferral({ change: later, maxDeferrals: null, deferralsUsed: 99, accepted, deadline: null })).toMatchObject({ action: 'follow', deferralsUsed: 100 });
  });

  it('beyond the limit: a move later is undone, a delete rebooked at the earliest slot, with the reason', () => {
    const undo = decideDeferral({ change: later, maxDeferrals: 1, deferralsUsed: 1, accepted, deadline: null, deadlineLabel: '2026-12-10' });
    expect(undo).toMatchObject({ action: 'undo_move', deferralsUsed: 1, start: accepted.start, end: accepted.end });
    expect(undo.reason).toBe('This window can no longer be moved: the 1 deferral allowed has been used. It must happen by the end of 2026-12-10.');
    expect(decideDeferral({ change: { kind: 'deleted' }, maxDeferrals: 0, deferralsUsed: 0, accepted, deadline: null })).toMatchObject({ action: 'rebook_earliest', deferralsUsed: 0 });
  });

  it('a move past the deadline is clamped', () => {
    const d = decideDeferral({ change: later, maxDeferrals: 3, deferralsUsed: 0, accepted, deadline: at('2026-12-09T05:00:00Z'), deadlineLabel: '2026-12-08' });
    expect(d).toMatchObject({ action: 'clamp_to_deadline', deferralsUsed: 1 });
    expect(d.reason).toContain('past the deadline');
    expect(deferralsLeft(2, 1)).toBe(1);
    expect(deferralsLeft(1, 3)).toBe(0);
    expect(deferralsLeft(null, 3)).toBeNull();
  });
});

describe('description templates', () => {
  const values = { org_name: 'Acme & Co', host_name: '<b>Bob</b>’s Mac', policy_names: 'Disk encryption', why: 'Lost laptops', what: 'FileVault', deadline: '2026-12-10', deferrals_left: '1' };
  it('substitutes placeholders only and escapes HTML', () => {
    expect(renderTemplate('{{org_name}} patches {{ host_name }} by {{deadline}} ({{deferrals_left}} left) <i>', values)).toBe(
      'Acme &amp; Co patches &lt;b&gt;Bob&lt;/b&gt;’s Mac by 2026-12-10 (1 left) &lt;i&gt;',
    );
    expect(renderTemplate('{{why}}', { ...values, why: '{{org_name}} ${process.exit()}' })).toBe('{{org_name}} ${process.exit()}');
    expect(escapeHtml(`"'`)).toBe('&quot;&#39;');
  });
  it('rejects unknown placeholders', () => {
    expect(unknownPlaceholders('{{org_name}} {{owner}} {{constructor}} {{owner}}')).toEqual(['owner', 'constructor']);
    expect(() => renderTemplate('{{__proto__}}', values)).toThrow('unknown placeholder');
  });
});

describe('clamping to the deadline', () => {
  it('the latest free slot before the deadline, whatever the allowed days', () => {
    const choice = latestSlotBeforeDeadline({
      now: at('2026-12-01T15:00:00Z'),
      zone: NY,
      rules: DEFAULT_MAINTENANCE_RULES,
      busy: [{ start: '2026-12-03T16:00:00-05:00', end: '2026-12-03T17:00:00-05:00' }],
      deadline: at('2026-12-04T05:00:00Z'),
    });
    expect(choice).toMatchObject({ slot: { start: '2026-12-03T15:30:00.000-05:00', end: '2026-12-03T16:00:00.000-05:00' }, onlyTimeLeft: false, basis: 'deadline' });
    expect(choice?.reason).toContain('moved past the deadline (end of 2026-12-03)');
    expect(latestSlotBeforeDeadline({ now: at('2026-12-10T15:00:00Z'), zone: NY, rules: DEFAULT_MAINTENANCE_RULES, busy: [], deadline: at('2026-12-04T05:00:00Z') })).toBeNull();
  });
});

describe('descriptions under maintenance policies', () => {
  const policies = [{ id: 7, name: 'Disk <encryption>', description: 'Lost laptops leak data.', resolution: 'We turn on FileVault.' }];
  it('the built-in text gains the notes in its opening paragraph', () => {
    const text = buildEventDescription({ orgName: 'Acme', hostDisplayName: 'Mac', policies, onlyTimeLeft: false, notes: ['This window can no longer be moved.'] });
    expect(text.split('\n\n')[0]).toBe('Acme reserved this time to make some changes to your work computer (Mac). Please leave your device on and connected to power.\nThis window can no longer be moved.');
    expect(buildEventDescription({ orgName: 'Acme', hostDisplayName: 'Mac', policies, onlyTimeLeft: false })).toBe(
      buildEventDescription({ orgName: 'Acme', hostDisplayName: 'Mac', policies, onlyTimeLeft: false, notes: [] }),
    );
  });
  it('a template gets the same texts, escaped, with the notes first', () => {
    const text = buildTemplatedDescription('{{org_name}}: {{policy_names}} on {{host_name}} by {{deadline}}, {{deferrals_left}} left. {{why}} {{what}}', {
      orgName: 'A&B',
      hostDisplayName: 'Mac',
      policies,
      onlyTimeLeft: true,
      deadline: '2026-12-10',
      deferralsLeft: 1,
      notes: ['Must happen by <10 Dec>.'],
    });
    const parts = text.split('\n\n');
    expect(parts[0]).toContain('no remaining availability');
    expect(parts[1]).toBe('Must happen by &lt;10 Dec&gt;.');
    expect(parts[2]).toBe('A&amp;B: Disk &lt;encryption&gt; on Mac by 2026-12-10, 1 left. Lost laptops leak data. We turn on FileVault.');
  });
});

describe('booking zone', () => {
  it('"owner" uses the calendar zone, else the fallback; an IANA zone applies to the whole scope', () => {
    expect(bookingZone(DEFAULT_MAINTENANCE_RULES, 'Europe/Zurich')).toEqual({ zone: 'Europe/Zurich', usedFallback: false });
    expect(bookingZone(DEFAULT_MAINTENANCE_RULES, null)).toEqual({ zone: 'America/New_York', usedFallback: true, reason: 'missing' });
    expect(bookingZone({ ...DEFAULT_MAINTENANCE_RULES, time_zone: 'Asia/Kolkata' }, 'Europe/Zurich')).toEqual({ zone: 'Asia/Kolkata', usedFallback: false });
  });
});
