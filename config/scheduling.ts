import type { SchedulingRules } from '../src/domain/scheduling-rules';

/**
 * The one place the scheduling defaults live. Same as Fleet's maintenance windows:
 * Tuesdays, 09:00–17:00 in the owner's time zone, 30-minute slots aligned to :00/:30.
 */
export const defaultSchedulingRules: SchedulingRules = Object.freeze({
  weekday: 2,
  dayStart: '09:00',
  dayEnd: '17:00',
  slotMinutes: 30,
  fallbackTimeZone: 'America/New_York',
});

/**
 * The same defaults as maintenance-policy rules (MAINTENANCE_CONFIG_FILE absent): Tuesday windows, rebook Mon–Fri.
 * A property test checks that they give exactly the answers of defaultSchedulingRules.
 */
export { DEFAULT_MAINTENANCE_RULES as defaultMaintenanceRules } from '../src/domain/maintenance-rules';
