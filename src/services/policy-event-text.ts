import { deferralsLeft } from '../domain/deferral-rules';
import { buildEventDescription, buildTemplatedDescription } from '../domain/event-text';
import { governingRules } from '../domain/maintenance-resolution';
import type { MaintenanceConfig, MaintenanceRules } from '../domain/maintenance-rules';
import type { Remediation } from '../domain/remediation';
import { isoInZone } from '../domain/time-zone';

/** The local date a deadline (exclusive, epoch ms) falls in: its last day, for texts. */
export function deadlineLabel(deadline: number, zone: string): string {
  return isoInZone(deadline - 1, zone).slice(0, 10);
}

/** The rules governing a booked remediation now (its zone for deadlines; first failure = its creation). */
export function rulesOfBooked(config: MaintenanceConfig, r: Remediation): MaintenanceRules {
  const firstFailure = Date.parse(r.createdAt);
  return governingRules(config, r.host.teamId, r.policies.map((p) => ({ id: p.id, firstFailure })), r.timeZone ?? 'UTC').rules;
}

/**
 * The event's title and description under maintenance policies: event.title, and the event.description template
 * or the built-in text, with notes first: why the window is where it is (`reason`), that it can no longer be moved
 * (r.deferralsExhausted), else the deadline.
 */
export function policyEventText(input: {
  orgName?: string;
  r: Remediation;
  rules: MaintenanceRules;
  /** Exclusive, epoch ms; null = none. */
  deadline: number | null;
  zone: string;
  onlyTimeLeft: boolean;
  reason: string | null;
}): { title: string; description: string } {
  const { r, rules, deadline, zone } = input;
  const label = deadline === null ? null : deadlineLabel(deadline, zone);
  const notes = [...(input.reason ? [input.reason] : []), ...(r.deferralsExhausted && r.deferralsExhausted !== input.reason ? [r.deferralsExhausted] : [])];
  if (label && notes.length === 0) notes.push(`This maintenance must happen by the end of ${label}.`);
  const base = { orgName: input.orgName, hostDisplayName: r.host.displayName, policies: r.policies, onlyTimeLeft: input.onlyTimeLeft };
  const description =
    rules.event.description !== null
      ? buildTemplatedDescription(rules.event.description, { ...base, deadline: label, deferralsLeft: deferralsLeft(rules.max_deferrals, r.deferralsUsed ?? 0), notes })
      : buildEventDescription({ ...base, ...(notes.length > 0 ? { notes } : {}) });
  return { title: rules.event.title, description };
}
