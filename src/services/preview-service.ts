import { bookingZone, governingRules } from '../domain/maintenance-resolution';
import { DEFAULT_MAINTENANCE_CONFIG, type MaintenanceRules } from '../domain/maintenance-rules';
import { chooseWindow, deadlineOf, firstAllowedDay, windowQueryRange } from '../domain/policy-slot-search';
import { instantOf } from '../domain/slot-search';
import { resolveTimeZone } from '../domain/time-zone';
import type { ServiceDeps } from './ports';

export interface PreviewQuery {
  email: string;
  teamId: number | null;
  policyIds: number[];
}

/** GET /v1/preview: where a window would land now (snake_case, as served). */
export interface PreviewResult {
  time_zone: string;
  /** The rules in force for this owner, team and policies (MAINTENANCE_CONFIG_FILE's field names). */
  rules: MaintenanceRules;
  day: string;
  slot: { start: string; end: string };
  only_time_left: boolean;
  /** Why the window is not simply on the first allowed day (deadline), else null. */
  reason: string | null;
}

/** Why a preview cannot be made: the owner's free/busy is unknown, or no allowed day exists. */
export class PreviewUnavailableError extends Error {
  override name = 'PreviewUnavailableError';
}

/**
 * Where a window would land for an owner, team and failing policies if they failed now: the rules in force
 * (MAINTENANCE_CONFIG_FILE, else today's), the zone, freeBusy asked as the booking does. Writes nothing: no
 * event, no Redis write (not even the time-zone cache).
 */
export class PreviewService {
  /** Only the calendar, the clock and the rules: the CLI's `preview` uses it too, with no daemon around. */
  constructor(private readonly deps: { calendar: ServiceDeps['calendar']; clock: ServiceDeps['clock']; settings: Pick<ServiceDeps['settings'], 'maintenance'> }) {}

  async preview(q: PreviewQuery): Promise<PreviewResult> {
    return (await this.previewWithZone(q)).result;
  }

  /** The preview, and why the fallback zone was used (null: the calendar's own zone, or a fixed zone). */
  async previewWithZone(q: PreviewQuery): Promise<{ result: PreviewResult; timeZoneFallback: string | null }> {
    const { calendar, clock, settings } = this.deps;
    const now = clock.now();
    const config = settings.maintenance?.() ?? DEFAULT_MAINTENANCE_CONFIG;
    const setting = await calendar.timeZone(q.email);
    const owner = resolveTimeZone(setting, config.defaults.fallback_time_zone);
    const ownerZone = owner.zone;
    const governing = governingRules(config, q.teamId, q.policyIds.map((id) => ({ id, firstFailure: now })), ownerZone);
    const rules = governing.rules;
    const zone = bookingZone(rules, setting).zone;
    const deadline = deadlineOf(now, rules.deadline_days, zone);
    const day = firstAllowedDay(now, zone, rules, deadline);
    const fallbackDay = day ?? firstAllowedDay(now, zone, rules, null);
    if (!fallbackDay) throw new PreviewUnavailableError(`no day allowed by the maintenance rules (${rules.window.rrule}) within the search horizon`);
    const range = windowQueryRange(now, zone, rules, deadline, day);
    if (!day && instantOf(fallbackDay.windowEnd) > instantOf(range.timeMax)) range.timeMax = fallbackDay.windowEnd;
    const availability = (await calendar.freeBusy([q.email], range.timeMin, range.timeMax)).get(q.email);
    if (!availability || availability.kind === 'unknown') {
      throw new PreviewUnavailableError(`free/busy of ${q.email} unknown: ${availability?.kind === 'unknown' ? availability.reason : 'missing from the answer'}`);
    }
    const choice = chooseWindow({ now, zone, rules, busy: availability.busy, deadline });
    if (!choice) throw new PreviewUnavailableError(`no slot left for ${q.email}`);
    const result: PreviewResult = {
      time_zone: zone,
      rules,
      day: choice.day.date,
      slot: { start: choice.slot.start, end: choice.slot.end },
      only_time_left: choice.onlyTimeLeft,
      reason: choice.reason,
    };
    const fixedZone = rules.time_zone !== 'owner';
    return { result, timeZoneFallback: !fixedZone && owner.usedFallback ? (owner.reason ?? 'missing') : null };
  }
}
