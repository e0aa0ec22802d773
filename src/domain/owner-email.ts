/**
 * Which email owns a host. Fleet's order: the identity provider's email first, then the Google Chrome
 * profile, then any other source; only emails of the configured Workspace domain qualify.
 */

export interface MappedEmail {
  email: string;
  source: string;
}

const SOURCE_RANK: Record<string, number> = {
  identity_provider: 0,
  idp: 0,
  google_chrome_profiles: 1,
};

export type OwnerChoice = { email: string } | { email: null; reason: string };

/** Picks the owner among mapped emails (ordered by source, then as given). */
export function chooseOwnerEmail(candidates: MappedEmail[], domain: string | undefined): OwnerChoice {
  const ranked = candidates
    .map((c, index) => ({ email: c.email.trim().toLowerCase(), rank: SOURCE_RANK[c.source] ?? 2, index }))
    .filter((c) => c.email.includes('@'))
    .sort((a, b) => a.rank - b.rank || a.index - b.index);
  if (ranked.length === 0) return { email: null, reason: 'no owner email known for the host' };
  const inDomain = domain ? ranked.filter((c) => emailDomain(c.email) === domain.toLowerCase()) : ranked;
  if (inDomain.length === 0) {
    return { email: null, reason: `no owner email at ${domain} (found: ${ranked.map((c) => c.email).join(', ')})` };
  }
  return { email: inDomain[0].email };
}

function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1);
}
