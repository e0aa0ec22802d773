/**
 * Maintenance policies (issue 8): the rules in force for one scope, with the exact field names of the
 * MAINTENANCE_CONFIG_FILE (snake_case), so the configuration in force can be served as is.
 */
export interface WindowRules {
  /** RFC 5545 RRULE (no DTSTART; days only): the local dates on which a window may be booked. */
  rrule: string;
  /** Local wall time "HH:mm" of the first slot. */
  start: string;
  /** Local wall time "HH:mm" (24:00 allowed) by which the last slot ends. */
  end: string;
  slot_minutes: number;
}

export interface EventRules {
  title: string;
  /** Template with {{placeholders}}; null = the built-in Fleet-style description. */
  description: string | null;
}

export interface MaintenanceRules {
  window: WindowRules;
  rebook_rrule: string;
  /** "owner" (the calendar's time zone setting) or one IANA zone for the whole scope. */
  time_zone: string;
  fallback_time_zone: string;
  /** yyyy-MM-dd local dates on which no window is booked. */
  blackout_dates: string[];
  deadline_days: number | null;
  max_deferrals: number | null;
  resolution_webhook_url: string | null;
  event: EventRules;
}

/** Today's behaviour: Tuesday 09:00–17:00, 30-minute slots, rebook Mon–Fri, America/New_York fallback. */
export const DEFAULT_MAINTENANCE_RULES: MaintenanceRules = Object.freeze({
  window: Object.freeze({ rrule: 'FREQ=WEEKLY;BYDAY=TU', start: '09:00', end: '17:00', slot_minutes: 30 }),
  rebook_rrule: 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR',
  time_zone: 'owner',
  fallback_time_zone: 'America/New_York',
  blackout_dates: Object.freeze([]) as unknown as string[],
  deadline_days: null,
  max_deferrals: null,
  resolution_webhook_url: null,
  event: Object.freeze({ title: 'Scheduled maintenance', description: null }),
}) as MaintenanceRules;

/** A scope's settings as written in the file: every field optional (window and event field by field). */
export interface MaintenanceRulesOverride {
  window?: Partial<WindowRules>;
  rebook_rrule?: string;
  time_zone?: string;
  fallback_time_zone?: string;
  blackout_dates?: string[];
  deadline_days?: number | null;
  max_deferrals?: number | null;
  resolution_webhook_url?: string | null;
  event?: Partial<EventRules>;
}

/** The whole file, defaults filled in: `teams` and `policies` keep only what they override. */
export interface MaintenanceConfig {
  defaults: MaintenanceRules;
  teams: Record<string, MaintenanceRulesOverride>;
  policies: Record<string, MaintenanceRulesOverride>;
}

export const DEFAULT_MAINTENANCE_CONFIG: MaintenanceConfig = Object.freeze({
  defaults: DEFAULT_MAINTENANCE_RULES,
  teams: Object.freeze({}),
  policies: Object.freeze({}),
}) as MaintenanceConfig;

/** `base` with `override` applied field by field (window and event field by field too); the most specific wins. */
export function applyOverride(base: MaintenanceRules, override: MaintenanceRulesOverride | undefined): MaintenanceRules {
  if (!override) return base;
  const defined = <T extends object>(o: T | undefined): Partial<T> =>
    Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
  const { window, event, ...rest } = override;
  return {
    ...base,
    ...defined(rest),
    window: { ...base.window, ...defined(window) },
    event: { ...base.event, ...defined(event) },
  };
}
