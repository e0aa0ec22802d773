import type { Config } from '../config';
import { GoogleCalendarGateway } from '../google/google-calendar-gateway';
import { OwnerAuthProvider } from '../google/google-auth';
import { chooseSlot, nextBookingDay } from '../domain/slot-search';
import { resolveTimeZone } from '../domain/time-zone';
import { loadMaintenanceConfig } from '../maintenance-config';
import { PreviewService, PreviewUnavailableError } from '../services/preview-service';
import type { CalendarPort } from '../ports/calendar';
import { CliError } from './io';
import { liveGoogle } from './google-probe';
import { liveMicrosoft } from './microsoft-probe';

export interface PreviewOptions {
  email: string;
  policyIds: number[];
  teamId?: number;
  /** "Now" (epoch ms). */
  now: number;
}

export interface Preview {
  email: string;
  time_zone: string;
  /** Why the fallback zone was used ('missing', 'invalid: …'); null when the calendar's own zone is used. */
  time_zone_fallback: string | null;
  day: string;
  start: string;
  end: string;
  only_time_left: boolean;
  policy_ids: number[];
  team_id: number | null;
  /** Under maintenance policies: why the window is not simply on the first allowed day (deadline). */
  reason?: string;
}

/**
 * Where a window would land for the owner now: their calendar's time zone, the next booking day, the first free
 * slot (freeBusy asked), as the daemon's slot search decides. Reads only: no event, no Redis write.
 */
export async function preview(config: Config, opts: PreviewOptions): Promise<Preview> {
  const email = opts.email.trim().toLowerCase();
  if (config.domain && !email.endsWith(`@${config.domain}`)) throw new CliError(`${email} is not at GOOGLE_DOMAIN ${config.domain}: the daemon books no window for it`);
  const calendar = config.calendarProvider === 'microsoft' ? liveMicrosoft(config) : liveGoogleCalendar(config);
  if (config.maintenanceConfigFile) return previewUnderPolicies(config.maintenanceConfigFile, calendar, email, opts);
  const rules = config.scheduling;
  const zone = resolveTimeZone(await calendar.timeZone(email), rules.fallbackTimeZone);
  const day = nextBookingDay(opts.now, zone.zone, rules);
  const availability = (await calendar.freeBusy([email], day.windowStart, day.windowEnd)).get(email);
  if (!availability || availability.kind === 'unknown') {
    throw new CliError(`freeBusy cannot tell when ${email} is busy (${availability?.kind === 'unknown' ? availability.reason : 'no answer'}): the daemon would wait and ask again`);
  }
  const choice = chooseSlot(day, availability.busy, opts.now, rules);
  if (!choice) throw new CliError(`no slot left on ${day.date} for ${email}`);
  return {
    email,
    time_zone: zone.zone,
    time_zone_fallback: zone.usedFallback ? (zone.reason ?? 'missing') : null,
    day: day.date,
    start: choice.slot.start,
    end: choice.slot.end,
    only_time_left: choice.onlyTimeLeft,
    policy_ids: opts.policyIds,
    team_id: opts.teamId ?? null,
  };
}

function liveGoogleCalendar(config: Config): CalendarPort {
  const google = liveGoogle(config);
  return new GoogleCalendarGateway({
    auth: new OwnerAuthProvider({ clientEmail: google.key.client_email, privateKey: google.key.private_key, tokenUrl: google.tokenUrl, fetch: google.fetch }),
    rootUrl: google.apiUrl,
    retry: { maxAttempts: 2 },
  });
}

/** With MAINTENANCE_CONFIG_FILE: the same answer as the daemon's GET /v1/preview (the rules in force for the team and policies). */
async function previewUnderPolicies(file: string, calendar: CalendarPort, email: string, opts: PreviewOptions): Promise<Preview> {
  const maintenance = loadMaintenanceConfig(file);
  const service = new PreviewService({ calendar, clock: { now: () => opts.now }, settings: { maintenance: () => maintenance } });
  try {
    const { result, timeZoneFallback } = await service.previewWithZone({ email, teamId: opts.teamId ?? null, policyIds: opts.policyIds });
    return {
      email,
      time_zone: result.time_zone,
      time_zone_fallback: timeZoneFallback,
      day: result.day,
      start: result.slot.start,
      end: result.slot.end,
      only_time_left: result.only_time_left,
      policy_ids: opts.policyIds,
      team_id: opts.teamId ?? null,
      ...(result.reason ? { reason: result.reason } : {}),
    };
  } catch (err) {
    if (err instanceof PreviewUnavailableError) throw new CliError(err.message);
    throw err;
  }
}
