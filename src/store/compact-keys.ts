/**
 * Shorter JSON for what Redis keeps of every remediation: the property names that recur in each record (the
 * remediation's own, and its history's event data) are stored as two- or three-character codes (`~` and the
 * name's place in KEY_DICTIONARY, base 36). A booked remediation's record is about 130 bytes shorter, its events' data 30–60 each.
 *
 * KEY_DICTIONARY is part of the stored format: names are only ever APPENDED (a code, once written, must keep
 * meaning the same name). A name not in it is stored as it is; a record written without codes (before 2026-12)
 * reads as it is. No property of ours starts with `~`.
 */
export const KEY_DICTIONARY = [
  // The remediation (src/domain/remediation.ts).
  'host',
  'displayName',
  'serialNumber',
  'teamId',
  'email',
  'status',
  'policies',
  'name',
  'description',
  'resolution',
  'bookingNumber',
  'rebookCount',
  'createdAt',
  'updatedAt',
  'start',
  'end',
  'timeZone',
  'calendarEventId',
  'onlyTimeLeft',
  'originalDate',
  'delivery',
  'webhookId',
  'number',
  'attempts',
  'lastStatus',
  'lastError',
  'lastAttemptAt',
  'nextAttemptAt',
  'deliveredAt',
  'failedAt',
  'firedAt',
  'resolvedAt',
  'cancelledAt',
  'deferralsUsed',
  'deferralsExhausted',
  'maxDeferrals',
  'deadline',
  'rebookEarliest',
  'fleetFollowedUpAt',
  'reason',
  'reasonBeforeFleet',
  'parts',
  'body',
  'notified',
  // Lifecycle event data (src/domain/remediation-lifecycle.ts).
  'previous_status',
  'time_zone',
  'booking_number',
  'calendar_event_id',
  'only_time_left',
  'rebook_count',
  'previous_start',
  'previous_end',
  'host_display_name',
  'team_id',
  'owner',
  'policy_id',
  'webhook_id',
  'delivery_number',
  'http_status',
  'late_ms',
  'minutes_before',
  'previous_owner',
  'booked_start',
  'booked_end',
  'deferrals_used',
  'max_deferrals',
] as const;

const CODE_OF = new Map<string, string>(KEY_DICTIONARY.map((name, i) => [name, `~${i.toString(36)}`]));
const NAME_OF = new Map<string, string>(KEY_DICTIONARY.map((name, i) => [`~${i.toString(36)}`, name]));

/** The value with every dictionary name among its (nested) property names replaced by its code. */
export function compactKeys(value: unknown): unknown {
  return rename(value, CODE_OF);
}

/** The inverse of compactKeys (a value without codes comes back as it is). */
export function expandKeys(value: unknown): unknown {
  return rename(value, NAME_OF);
}

function rename(value: unknown, names: Map<string, string>): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = rename(value[i], names);
    return out;
  }
  // A plain loop (no entries() arrays): every record is renamed on each read and write, a burst of 2,000 windows
  // does it ~10,000 times.
  const out: Record<string, unknown> = {};
  const source = value as Record<string, unknown>;
  for (const k in source) {
    if (!Object.prototype.hasOwnProperty.call(source, k)) continue;
    const v = source[k];
    if (v === undefined) continue;
    const name = names.get(k) ?? k;
    const renamed = v !== null && typeof v === 'object' ? rename(v, names) : v;
    // An own "__proto__" (JSON.parse makes one) stays a property, never the object's prototype.
    if (name === '__proto__') Object.defineProperty(out, name, { value: renamed, enumerable: true, writable: true, configurable: true });
    else out[name] = renamed;
  }
  return out;
}
