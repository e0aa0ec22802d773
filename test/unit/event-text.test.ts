import { buildEventDescription, EVENT_SUMMARY, MAX_DESCRIPTION_LENGTH, type PolicyText } from '../../src/domain/event-text';

const osUpdate: PolicyText = {
  id: 479,
  name: 'macOS - OS version up to date',
  description: 'Outdated versions of macOS have security holes.',
  resolution: 'We will install the latest macOS update.',
};
const diskEncryption: PolicyText = { id: 12, name: 'Disk encryption enabled', description: 'Lost laptops leak data.', resolution: 'Turn on FileVault.' };

describe('buildEventDescription', () => {
  it('uses the summary "Scheduled maintenance"', () => {
    expect(EVENT_SUMMARY).toBe('Scheduled maintenance');
  });

  it('writes Fleet’s text for one policy with both texts', () => {
    expect(buildEventDescription({ orgName: 'Acme', hostDisplayName: "Victor's MacBook", policies: [osUpdate], onlyTimeLeft: false })).toBe(
      "Acme reserved this time to make some changes to your work computer (Victor's MacBook). Please leave your device on and connected to power.\n\n" +
        'Why it matters\nOutdated versions of macOS have security holes.\n\n' +
        'Maintenance required\nWe will install the latest macOS update.',
    );
  });

  it('trims the texts', () => {
    const padded = { ...osUpdate, description: '  \n Why. \n', resolution: '\tHow.  ' };
    const text = buildEventDescription({ orgName: ' Acme ', hostDisplayName: ' mac ', policies: [padded], onlyTimeLeft: false });
    expect(text).toBe(
      'Acme reserved this time to make some changes to your work computer (mac). Please leave your device on and connected to power.\n\n' +
        'Why it matters\nWhy.\n\nMaintenance required\nHow.',
    );
  });

  it('says "Your IT team" without an org name', () => {
    for (const orgName of [undefined, '', '   ']) {
      expect(buildEventDescription({ orgName, hostDisplayName: 'mac', policies: [osUpdate], onlyTimeLeft: false })).toMatch(
        /^Your IT team reserved this time/,
      );
    }
  });

  it('uses generic wording listing the names with several policies', () => {
    const text = buildEventDescription({ orgName: 'Acme', hostDisplayName: 'mac', policies: [osUpdate, diskEncryption], onlyTimeLeft: false });
    expect(text).toContain('Why it matters\nYour computer is failing 2 policies');
    expect(text).toContain('- macOS - OS version up to date\n- Disk encryption enabled');
    expect(text).toContain('Maintenance required\nDuring this maintenance window');
    expect(text).not.toContain(osUpdate.description);
    expect(text).not.toContain(diskEncryption.resolution);
  });

  it.each([
    ['no description', { ...osUpdate, description: null }],
    ['no resolution', { ...osUpdate, resolution: undefined }],
    ['a blank resolution', { ...osUpdate, resolution: '   ' }],
  ])('uses generic wording for one policy with %s', (_, policy) => {
    const text = buildEventDescription({ orgName: 'Acme', hostDisplayName: 'mac', policies: [policy], onlyTimeLeft: false });
    expect(text).toContain('Why it matters\nYour computer is failing this policy');
    expect(text).toContain('- macOS - OS version up to date');
    expect(text).toContain('Maintenance required\nDuring this maintenance window');
  });

  it('names a policy without a name by its id', () => {
    const text = buildEventDescription({ hostDisplayName: 'mac', policies: [{ id: 7, name: ' ' }, diskEncryption], onlyTimeLeft: false });
    expect(text).toContain('- Policy #7');
  });

  it('says why this time was chosen when the day was full', () => {
    const text = buildEventDescription({ orgName: 'Acme', hostDisplayName: 'mac', policies: [osUpdate], onlyTimeLeft: true });
    const [header] = text.split('\n\n');
    expect(header).toContain('because there was no remaining availability');
    const normal = buildEventDescription({ orgName: 'Acme', hostDisplayName: 'mac', policies: [osUpdate], onlyTimeLeft: false });
    expect(normal).not.toContain('no remaining availability');
  });

  it('caps the description at 8000 characters, keeping the opening', () => {
    const huge = { ...osUpdate, resolution: 'x'.repeat(20_000) };
    const text = buildEventDescription({ orgName: 'Acme', hostDisplayName: 'mac', policies: [huge], onlyTimeLeft: true });
    expect(MAX_DESCRIPTION_LENGTH).toBe(8000);
    expect(text).toHaveLength(8000);
    expect(text.endsWith('…')).toBe(true);
    expect(text).toContain('no remaining availability');
  });

  it('does not split a surrogate pair at the cap', () => {
    for (const pad of ['', 'a']) {
      const emoji = { ...osUpdate, resolution: pad + '💻'.repeat(10_000) };
      const text = buildEventDescription({ orgName: 'Acme', hostDisplayName: 'mac', policies: [emoji], onlyTimeLeft: false });
      expect(text.length).toBeLessThanOrEqual(8000);
      expect(text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    }
  });

  it('lists many policies without exceeding the cap', () => {
    const many = Array.from({ length: 2000 }, (_, i) => ({ id: i, name: `Policy number ${i}` }));
    expect(buildEventDescription({ hostDisplayName: 'mac', policies: many, onlyTimeLeft: false }).length).toBeLessThanOrEqual(8000);
  });

  it('leaves the parentheses out when the host has no display name', () => {
    expect(buildEventDescription({ hostDisplayName: '', policies: [osUpdate], onlyTimeLeft: false })).toMatch(
      /changes to your work computer\. Please leave/,
    );
  });
});
