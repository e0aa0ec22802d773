import { chooseOwnerEmail } from '../../src/domain/owner-email';

describe('chooseOwnerEmail', () => {
  it('prefers the identity provider, then the Chrome profile, then others', () => {
    const emails = [
      { email: 'custom@acme.com', source: 'custom' },
      { email: 'chrome@acme.com', source: 'google_chrome_profiles' },
      { email: 'IdP@Acme.com', source: 'identity_provider' },
    ];
    expect(chooseOwnerEmail(emails, 'acme.com')).toEqual({ email: 'idp@acme.com' });
    expect(chooseOwnerEmail(emails.slice(0, 2), 'acme.com')).toEqual({ email: 'chrome@acme.com' });
  });

  it('keeps only emails of the Workspace domain', () => {
    const emails = [
      { email: 'me@gmail.com', source: 'identity_provider' },
      { email: 'me@acme.com', source: 'custom' },
    ];
    expect(chooseOwnerEmail(emails, 'acme.com')).toEqual({ email: 'me@acme.com' });
    expect(chooseOwnerEmail(emails, 'other.org')).toEqual({ email: null, reason: 'no owner email at other.org (found: me@gmail.com, me@acme.com)' });
  });

  it('keeps the given order within one source and accepts any domain when none is configured', () => {
    const emails = [
      { email: 'first@x.com', source: 'event' },
      { email: 'second@y.com', source: 'event' },
    ];
    expect(chooseOwnerEmail(emails, undefined)).toEqual({ email: 'first@x.com' });
  });

  it('explains a host without emails', () => {
    expect(chooseOwnerEmail([], 'acme.com')).toEqual({ email: null, reason: 'no owner email known for the host' });
  });
});
