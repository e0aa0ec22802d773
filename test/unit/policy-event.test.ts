import { eventKey, fleetWebhookToEvents, parseFleetFailingPolicies, parsePolicyEvents } from '../../src/ingest/policy-event';

const valid = {
  type: 'policy_failing',
  host: { id: 42, display_name: "Victor's Mac", serial_number: 'Z5C4L7GKY0', emails: ['victor@acme.com'], team_id: 1 },
  policy: { id: 7, name: 'Disk encryption enabled', description: 'Why', resolution: 'How' },
  occurred_at: '2026-11-22T10:00:00Z',
};

describe('parsePolicyEvents', () => {
  it('accepts one event or an array', () => {
    expect(parsePolicyEvents(valid)).toMatchObject({ ok: true, value: [valid] });
    expect(parsePolicyEvents([valid, { ...valid, type: 'policy_passing' }])).toMatchObject({ ok: true });
  });

  it.each([
    [{ ...valid, type: 'policy_broken' }, 'type'],
    [{ ...valid, host: { ...valid.host, id: '42' } }, 'host.id'],
    [{ ...valid, host: { ...valid.host, id: -1 } }, 'host.id'],
    [{ ...valid, host: { ...valid.host, emails: ['not-an-email'] } }, 'host.emails[0]'],
    [{ ...valid, policy: { ...valid.policy, name: '' } }, 'policy.name'],
    [{ ...valid, policy: undefined }, 'policy'],
    [{ ...valid, occurred_at: 'yesterday' }, 'occurred_at'],
    [{ ...valid, occurred_at: '2026-11-22T10:00:00' }, 'occurred_at'],
    [[valid, { ...valid, host: {} }], '[1].host.id'],
    [[], '(body)'],
    ['text', '(body)'],
    [null, '(body)'],
  ])('rejects %j naming %s', (body, field) => {
    const r = parsePolicyEvents(body);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.field).toBe(field);
  });

  it('names an unknown field', () => {
    const r = parsePolicyEvents({ ...valid, colour: 'red' });
    expect(r).toEqual({ ok: false, field: '(body)', message: 'unknown field colour' });
  });

  it('gives the same key to the same event, and different keys to different ones', () => {
    expect(eventKey(valid as never)).toBe(eventKey({ ...valid, occurred_at: '2026-11-22T11:00:00+01:00' } as never));
    expect(eventKey(valid as never)).not.toBe(eventKey({ ...valid, type: 'policy_passing' } as never));
  });
});

describe("Fleet's failing-policies webhook", () => {
  const body = {
    timestamp: '2024-03-28T13:57:31.668954-05:00',
    policy: { id: 479, name: 'macOS - OS version up to date', query: 'SELECT 1;', description: 'Old', resolution: 'Update', author_id: 1, critical: false },
    hosts: [
      { id: 11058, hostname: 'victor-vm', display_name: "Victor's Virtual Machine", url: 'https://fleet/hosts/11058' },
      { id: 11059, hostname: 'other', display_name: '', url: 'https://fleet/hosts/11059' },
    ],
  };

  it('becomes one policy_failing event per host, without emails (looked up later)', () => {
    const r = parseFleetFailingPolicies(body);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const events = fleetWebhookToEvents(r.value);
    expect(events).toHaveLength(2);
    expect(events[0]).toEqual({
      type: 'policy_failing',
      host: { id: 11058, display_name: "Victor's Virtual Machine", hostname: 'victor-vm' },
      policy: { id: 479, name: 'macOS - OS version up to date', description: 'Old', resolution: 'Update' },
      occurred_at: body.timestamp,
      // What the event causes is attributed to Fleet (the actor of its lifecycle events).
      source: 'fleet',
    });
    expect(events[1].host.display_name).toBe('other');
  });

  it('names the bad field', () => {
    expect(parseFleetFailingPolicies({ ...body, hosts: [{ id: 'x' }] })).toMatchObject({ ok: false, field: 'hosts[0].id' });
    expect(parseFleetFailingPolicies({ ...body, policy: { name: 'x' } })).toMatchObject({ ok: false, field: 'policy.id' });
    expect(parseFleetFailingPolicies({ ...body, timestamp: undefined })).toMatchObject({ ok: false, field: 'timestamp', message: 'is required' });
  });
});
