import { escapeHtml, renderTemplate } from './event-template';

/** A failing policy's texts as Fleet holds them. */
export interface PolicyText {
  id: number;
  name: string;
  description?: string | null;
  resolution?: string | null;
}

export const EVENT_SUMMARY = 'Scheduled maintenance';

/** Upper bound of the description we write (Google allows far more; owners read the top). */
export const MAX_DESCRIPTION_LENGTH = 8000;

const DEFAULT_ORG_NAME = 'Your IT team';
const NO_AVAILABILITY_NOTE =
  'This time was chosen because there was no remaining availability on your calendar that day, so it may overlap other events.';
const GENERIC_RESOLUTION =
  'During this maintenance window, changes and updates will be applied to your computer automatically. ' +
  'Your computer may restart or be unavailable for part of this time.';

function trimmed(text: string | null | undefined): string {
  return (text ?? '').trim();
}

function policyName(policy: PolicyText): string {
  return trimmed(policy.name) || `Policy #${policy.id}`;
}

/** The opening paragraph: who reserved the time, for which computer, and what the owner should do. */
function header(orgName: string, hostDisplayName: string, onlyTimeLeft: boolean, notes: string[] = []): string {
  const host = trimmed(hostDisplayName);
  const computer = host ? `your work computer (${host})` : 'your work computer';
  const lines = [`${orgName} reserved this time to make some changes to ${computer}. Please leave your device on and connected to power.`];
  if (onlyTimeLeft) lines.push(NO_AVAILABILITY_NOTE);
  for (const note of notes) if (trimmed(note)) lines.push(trimmed(note));
  return lines.join('\n');
}

/** "Why it matters" body when there is no single policy with its own description. */
function genericWhy(policies: PolicyText[]): string {
  const names = policies.map((p) => `- ${policyName(p)}`);
  const intro =
    policies.length === 1
      ? 'Your computer is failing this policy, which helps keep your device and your organization secure:'
      : `Your computer is failing ${policies.length} policies, which help keep your device and your organization secure:`;
  return policies.length === 0
    ? 'Your computer needs changes to meet your organization’s security policies.'
    : [intro, ...names].join('\n');
}

/** The policy's own texts when there is exactly one failing policy and it has both; otherwise null. */
function specificTexts(policies: PolicyText[]): { why: string; what: string } | null {
  if (policies.length !== 1) return null;
  const why = trimmed(policies[0].description);
  const what = trimmed(policies[0].resolution);
  return why && what ? { why, what } : null;
}

/** Cuts `text` to at most `max` characters, ending with "…", without splitting a surrogate pair. */
function capped(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = max - 1;
  if (/[\uD800-\uDBFF]/.test(text[cut - 1])) cut--;
  return `${text.slice(0, cut)}…`;
}

/**
 * Fleet-style event description. Exactly one failing policy with both texts:
 *   "{org} reserved this time to make some changes to your work computer ({host}). Please leave your device on and
 *   connected to power.\n\nWhy it matters\n{description}\n\nMaintenance required\n{resolution}".
 * Several policies, or a missing text: the same frame with the policy names listed under "Why it matters" and a
 * generic "Maintenance required". With onlyTimeLeft the opening paragraph says this time was chosen because the day
 * had no availability left (kept at the top so the cap never drops it). Texts are trimmed; the whole is capped at
 * 8000 characters; a missing org name reads "Your IT team".
 */
export function buildEventDescription(input: {
  orgName?: string;
  hostDisplayName: string;
  policies: PolicyText[];
  onlyTimeLeft: boolean;
  /** Extra sentences for the opening paragraph (maintenance policies: deadline fallback, no deferrals left …). */
  notes?: string[];
}): string {
  const org = trimmed(input.orgName) || DEFAULT_ORG_NAME;
  const specific = specificTexts(input.policies);
  const why = specific?.why ?? genericWhy(input.policies);
  const what = specific?.what ?? GENERIC_RESOLUTION;
  const text = [header(org, input.hostDisplayName, input.onlyTimeLeft, input.notes), `Why it matters\n${why}`, `Maintenance required\n${what}`].join('\n\n');
  return capped(text, MAX_DESCRIPTION_LENGTH);
}

/**
 * The description from a maintenance-policy template (event.description): placeholders filled with the same texts
 * the built-in description uses, HTML-escaped (renderTemplate); the only-time-left note and `notes` (deadline,
 * deferrals) are put first so an admin's template cannot drop them. Capped like the built-in text.
 */
export function buildTemplatedDescription(
  template: string,
  input: { orgName?: string; hostDisplayName: string; policies: PolicyText[]; onlyTimeLeft: boolean; deadline: string | null; deferralsLeft: number | null; notes?: string[] },
): string {
  const specific = specificTexts(input.policies);
  const body = renderTemplate(template, {
    org_name: trimmed(input.orgName) || DEFAULT_ORG_NAME,
    host_name: trimmed(input.hostDisplayName),
    policy_names: input.policies.map(policyName).join(', '),
    why: specific?.why ?? genericWhy(input.policies),
    what: specific?.what ?? GENERIC_RESOLUTION,
    deadline: input.deadline ?? 'no deadline',
    deferrals_left: input.deferralsLeft === null ? 'unlimited' : String(input.deferralsLeft),
  });
  const first = [...(input.onlyTimeLeft ? [NO_AVAILABILITY_NOTE] : []), ...(input.notes ?? []).map(trimmed).filter(Boolean)].map(escapeHtml);
  return capped([...first, body].join('\n\n'), MAX_DESCRIPTION_LENGTH);
}
