import { applyOverride, type MaintenanceConfig, type MaintenanceRules } from './maintenance-rules';
import { deadlineOf } from './policy-slot-search';
import { resolveTimeZone, type ResolvedTimeZone } from './time-zone';

/** The rules in force for one policy of a host: defaults ← team (host.team_id) ← policy, field by field. */
export function rulesFor(config: MaintenanceConfig, teamId: number | null | undefined, policyId: number | null | undefined): MaintenanceRules {
  const team = teamId === null || teamId === undefined ? undefined : config.teams[String(teamId)];
  const policy = policyId === null || policyId === undefined ? undefined : config.policies[String(policyId)];
  return applyOverride(applyOverride(config.defaults, team), policy);
}

export interface FailingPolicyRef {
  id: number;
  /** When this policy was first seen failing on the host (epoch ms). */
  firstFailure: number;
}

export interface GoverningRules {
  /** The policy whose rules the host's window follows (null when the host fails none: team/defaults rules). */
  policyId: number | null;
  rules: MaintenanceRules;
  /** That policy's deadline (epoch ms, exclusive end of the local day) or null. */
  deadline: number | null;
}

/**
 * A host failing several policies follows the policy with the earliest deadline (a policy without deadline counts
 * as latest); ties → the lowest policy id. `zone` is the owner's zone (deadlines end at a local midnight).
 */
export function governingRules(config: MaintenanceConfig, teamId: number | null | undefined, policies: FailingPolicyRef[], zone: string): GoverningRules {
  if (policies.length === 0) return { policyId: null, rules: rulesFor(config, teamId, null), deadline: null };
  const ranked = policies
    .map((p) => {
      const rules = rulesFor(config, teamId, p.id);
      return { policyId: p.id, rules, deadline: deadlineOf(p.firstFailure, rules.deadline_days, zone) };
    })
    .sort((a, b) => (a.deadline ?? Infinity) - (b.deadline ?? Infinity) || a.policyId - b.policyId);
  return ranked[0];
}

export interface WebhookGroup<P extends { id: number }> {
  url: string;
  /** The policies delivered to `url`, ascending by id. */
  policies: P[];
}

/**
 * One resolution-webhook delivery per effective URL: each policy's `resolution_webhook_url` (policy ← team ←
 * defaults), else `defaultUrl` (RESOLUTION_WEBHOOK_URL). Groups are ordered by their lowest policy id.
 */
export function groupByWebhookUrl<P extends { id: number }>(config: MaintenanceConfig, teamId: number | null | undefined, policies: P[], defaultUrl: string): WebhookGroup<P>[] {
  const groups = new Map<string, P[]>();
  for (const policy of [...policies].sort((a, b) => a.id - b.id)) {
    const url = rulesFor(config, teamId, policy.id).resolution_webhook_url ?? defaultUrl;
    groups.set(url, [...(groups.get(url) ?? []), policy]);
  }
  return [...groups].map(([url, ps]) => ({ url, policies: ps }));
}

/** The zone windows are booked in under `rules`: its fixed IANA zone, or the owner's calendar zone (else fallback_time_zone). */
export function bookingZone(rules: MaintenanceRules, ownerCalendarZone: string | null | undefined): ResolvedTimeZone {
  if (rules.time_zone !== 'owner') return { zone: rules.time_zone, usedFallback: false };
  return resolveTimeZone(ownerCalendarZone, rules.fallback_time_zone);
}
