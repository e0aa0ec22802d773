/**
 * Windows time-zone names (what Exchange / Microsoft Graph store in mailboxSettings.timeZone, workingHours.timeZone
 * and dateTimeTimeZone.timeZone by default) mapped to IANA zones, and a resolver that turns whatever Graph answers
 * into a zone luxon understands.
 *
 * Data: Unicode CLDR, common/supplemental/windowsZones.xml, the territory "001" (golden zone) entry of every
 * Windows zone (mapTimezones otherVersion 7e11800, typeVersion 2021a; https://github.com/unicode-org/cldr, terms of
 * use https://www.unicode.org/copyright.html). IANA names are kept exactly as CLDR writes them (some are legacy
 * links such as Asia/Calcutta or Europe/Kiev; luxon and ICU accept them).
 */
import { DateTime } from 'luxon';

/** Windows zone name → IANA zone (CLDR windowsZones, territory 001), in CLDR's order (by UTC offset). */
export const WINDOWS_TO_IANA: Readonly<Record<string, string>> = Object.freeze({
  'Dateline Standard Time': 'Etc/GMT+12',
  'UTC-11': 'Etc/GMT+11',
  'Aleutian Standard Time': 'America/Adak',
  'Hawaiian Standard Time': 'Pacific/Honolulu',
  'Marquesas Standard Time': 'Pacific/Marquesas',
  'Alaskan Standard Time': 'America/Anchorage',
  'UTC-09': 'Etc/GMT+9',
  'Pacific Standard Time (Mexico)': 'America/Tijuana',
  'UTC-08': 'Etc/GMT+8',
  'Pacific Standard Time': 'America/Los_Angeles',
  'US Mountain Standard Time': 'America/Phoenix',
  'Mountain Standard Time (Mexico)': 'America/Mazatlan',
  'Mountain Standard Time': 'America/Denver',
  'Yukon Standard Time': 'America/Whitehorse',
  'Central America Standard Time': 'America/Guatemala',
  'Central Standard Time': 'America/Chicago',
  'Easter Island Standard Time': 'Pacific/Easter',
  'Central Standard Time (Mexico)': 'America/Mexico_City',
  'Canada Central Standard Time': 'America/Regina',
  'SA Pacific Standard Time': 'America/Bogota',
  'Eastern Standard Time (Mexico)': 'America/Cancun',
  'Eastern Standard Time': 'America/New_York',
  'Haiti Standard Time': 'America/Port-au-Prince',
  'Cuba Standard Time': 'America/Havana',
  'US Eastern Standard Time': 'America/Indianapolis',
  'Turks And Caicos Standard Time': 'America/Grand_Turk',
  'Paraguay Standard Time': 'America/Asuncion',
  'Atlantic Standard Time': 'America/Halifax',
  'Venezuela Standard Time': 'America/Caracas',
  'Central Brazilian Standard Time': 'America/Cuiaba',
  'SA Western Standard Time': 'America/La_Paz',
  'Pacific SA Standard Time': 'America/Santiago',
  'Newfoundland Standard Time': 'America/St_Johns',
  'Tocantins Standard Time': 'America/Araguaina',
  'E. South America Standard Time': 'America/Sao_Paulo',
  'SA Eastern Standard Time': 'America/Cayenne',
  'Argentina Standard Time': 'America/Buenos_Aires',
  'Greenland Standard Time': 'America/Godthab',
  'Montevideo Standard Time': 'America/Montevideo',
  'Magallanes Standard Time': 'America/Punta_Arenas',
  'Saint Pierre Standard Time': 'America/Miquelon',
  'Bahia Standard Time': 'America/Bahia',
  'UTC-02': 'Etc/GMT+2',
  'Azores Standard Time': 'Atlantic/Azores',
  'Cape Verde Standard Time': 'Atlantic/Cape_Verde',
  UTC: 'Etc/UTC',
  'GMT Standard Time': 'Europe/London',
  'Greenwich Standard Time': 'Atlantic/Reykjavik',
  'Sao Tome Standard Time': 'Africa/Sao_Tome',
  'Morocco Standard Time': 'Africa/Casablanca',
  'W. Europe Standard Time': 'Europe/Berlin',
  'Central Europe Standard Time': 'Europe/Budapest',
  'Romance Standard Time': 'Europe/Paris',
  'Central European Standard Time': 'Europe/Warsaw',
  'W. Central Africa Standard Time': 'Africa/Lagos',
  'Jordan Standard Time': 'Asia/Amman',
  'GTB Standard Time': 'Europe/Bucharest',
  'Middle East Standard Time': 'Asia/Beirut',
  'Egypt Standard Time': 'Africa/Cairo',
  'E. Europe Standard Time': 'Europe/Chisinau',
  'Syria Standard Time': 'Asia/Damascus',
  'West Bank Standard Time': 'Asia/Hebron',
  'South Africa Standard Time': 'Africa/Johannesburg',
  'FLE Standard Time': 'Europe/Kiev',
  'Israel Standard Time': 'Asia/Jerusalem',
  'South Sudan Standard Time': 'Africa/Juba',
  'Kaliningrad Standard Time': 'Europe/Kaliningrad',
  'Sudan Standard Time': 'Africa/Khartoum',
  'Libya Standard Time': 'Africa/Tripoli',
  'Namibia Standard Time': 'Africa/Windhoek',
  'Arabic Standard Time': 'Asia/Baghdad',
  'Turkey Standard Time': 'Europe/Istanbul',
  'Arab Standard Time': 'Asia/Riyadh',
  'Belarus Standard Time': 'Europe/Minsk',
  'Russian Standard Time': 'Europe/Moscow',
  'E. Africa Standard Time': 'Africa/Nairobi',
  'Iran Standard Time': 'Asia/Tehran',
  'Arabian Standard Time': 'Asia/Dubai',
  'Astrakhan Standard Time': 'Europe/Astrakhan',
  'Azerbaijan Standard Time': 'Asia/Baku',
  'Russia Time Zone 3': 'Europe/Samara',
  'Mauritius Standard Time': 'Indian/Mauritius',
  'Saratov Standard Time': 'Europe/Saratov',
  'Georgian Standard Time': 'Asia/Tbilisi',
  'Volgograd Standard Time': 'Europe/Volgograd',
  'Caucasus Standard Time': 'Asia/Yerevan',
  'Afghanistan Standard Time': 'Asia/Kabul',
  'West Asia Standard Time': 'Asia/Tashkent',
  'Ekaterinburg Standard Time': 'Asia/Yekaterinburg',
  'Pakistan Standard Time': 'Asia/Karachi',
  'Qyzylorda Standard Time': 'Asia/Qyzylorda',
  'India Standard Time': 'Asia/Calcutta',
  'Sri Lanka Standard Time': 'Asia/Colombo',
  'Nepal Standard Time': 'Asia/Katmandu',
  'Central Asia Standard Time': 'Asia/Bishkek',
  'Bangladesh Standard Time': 'Asia/Dhaka',
  'Omsk Standard Time': 'Asia/Omsk',
  'Myanmar Standard Time': 'Asia/Rangoon',
  'SE Asia Standard Time': 'Asia/Bangkok',
  'Altai Standard Time': 'Asia/Barnaul',
  'W. Mongolia Standard Time': 'Asia/Hovd',
  'North Asia Standard Time': 'Asia/Krasnoyarsk',
  'N. Central Asia Standard Time': 'Asia/Novosibirsk',
  'Tomsk Standard Time': 'Asia/Tomsk',
  'China Standard Time': 'Asia/Shanghai',
  'North Asia East Standard Time': 'Asia/Irkutsk',
  'Singapore Standard Time': 'Asia/Singapore',
  'W. Australia Standard Time': 'Australia/Perth',
  'Taipei Standard Time': 'Asia/Taipei',
  'Ulaanbaatar Standard Time': 'Asia/Ulaanbaatar',
  'Aus Central W. Standard Time': 'Australia/Eucla',
  'Transbaikal Standard Time': 'Asia/Chita',
  'Tokyo Standard Time': 'Asia/Tokyo',
  'North Korea Standard Time': 'Asia/Pyongyang',
  'Korea Standard Time': 'Asia/Seoul',
  'Yakutsk Standard Time': 'Asia/Yakutsk',
  'Cen. Australia Standard Time': 'Australia/Adelaide',
  'AUS Central Standard Time': 'Australia/Darwin',
  'E. Australia Standard Time': 'Australia/Brisbane',
  'AUS Eastern Standard Time': 'Australia/Sydney',
  'West Pacific Standard Time': 'Pacific/Port_Moresby',
  'Tasmania Standard Time': 'Australia/Hobart',
  'Vladivostok Standard Time': 'Asia/Vladivostok',
  'Lord Howe Standard Time': 'Australia/Lord_Howe',
  'Bougainville Standard Time': 'Pacific/Bougainville',
  'Russia Time Zone 10': 'Asia/Srednekolymsk',
  'Magadan Standard Time': 'Asia/Magadan',
  'Norfolk Standard Time': 'Pacific/Norfolk',
  'Sakhalin Standard Time': 'Asia/Sakhalin',
  'Central Pacific Standard Time': 'Pacific/Guadalcanal',
  'Russia Time Zone 11': 'Asia/Kamchatka',
  'New Zealand Standard Time': 'Pacific/Auckland',
  'UTC+12': 'Etc/GMT-12',
  'Fiji Standard Time': 'Pacific/Fiji',
  'Chatham Islands Standard Time': 'Pacific/Chatham',
  'UTC+13': 'Etc/GMT-13',
  'Tonga Standard Time': 'Pacific/Tongatapu',
  'Samoa Standard Time': 'Pacific/Apia',
  'Line Islands Standard Time': 'Pacific/Kiritimati',
});

/** Lower-cased Windows name → its canonical spelling (Exchange compares zone ids case-insensitively). */
const BY_LOWER_CASE = new Map(Object.keys(WINDOWS_TO_IANA).map((name) => [name.toLowerCase(), name]));

/**
 * Names Graph uses for a zone that is not a named zone: a `customTimeZone` (bias / standardOffset /
 * daylightOffset) is called "Customized Time Zone"; "tzone://Microsoft/Custom" appears in mailboxSettings of
 * mailboxes whose zone was set by a client with a custom definition.
 */
const CUSTOM_ZONE_NAMES = new Set(['customized time zone', 'tzone://microsoft/custom']);

export type ZoneResolution =
  | { zone: string; source: 'windows' | 'iana'; /** The name as Graph gave it. */ name: string }
  | { zone: string; source: 'fallback'; name: string | null; /** Why the fallback was used (for a warning). */ reason: string };

/** The IANA zone of a Windows zone name (case-insensitive), or undefined if Windows has no such zone. */
export function windowsToIana(windowsName: string): string | undefined {
  const canonical = BY_LOWER_CASE.get(windowsName.trim().toLowerCase());
  return canonical === undefined ? undefined : WINDOWS_TO_IANA[canonical];
}

export function isIanaZone(name: string): boolean {
  // "Etc/..." and "Area/City" names; luxon also accepts fixed offsets like "UTC+3", which Graph never means as IANA.
  if (!/^[A-Za-z_]+(\/[A-Za-z0-9_+\-]+)*$/.test(name)) return false;
  return DateTime.now().setZone(name).isValid;
}

/**
 * The IANA zone for a time zone name as Graph returns it: a Windows name (the default format), an IANA name (when
 * the admin chose IANA), or anything else (a custom zone, an empty or unknown name) → `fallback`, with a reason the
 * caller should log as a warning. A custom zone may be passed as Graph's object (`{"@odata.type":
 * "#microsoft.graph.customTimeZone", name, bias, …}`): its rules are not converted.
 */
export function resolveGraphTimeZone(value: unknown, fallback: string): ZoneResolution {
  if (!isIanaZone(fallback)) throw new Error(`fallback time zone ${fallback} is not a valid IANA zone`);
  const name = typeof value === 'string' ? value : isObject(value) && typeof value.name === 'string' ? value.name : null;
  if (isObject(value) && (value['@odata.type'] === '#microsoft.graph.customTimeZone' || 'bias' in value)) {
    return { zone: fallback, source: 'fallback', name, reason: `custom time zone ${JSON.stringify(name ?? 'unnamed')} (bias rules are not converted)` };
  }
  if (name === null || name.trim() === '') return { zone: fallback, source: 'fallback', name, reason: 'no time zone set' };
  const trimmed = name.trim();
  if (CUSTOM_ZONE_NAMES.has(trimmed.toLowerCase())) return { zone: fallback, source: 'fallback', name, reason: `custom time zone ${JSON.stringify(name)}` };
  const fromWindows = windowsToIana(trimmed);
  if (fromWindows !== undefined) return { zone: fromWindows, source: 'windows', name };
  if (isIanaZone(trimmed)) return { zone: trimmed, source: 'iana', name };
  return { zone: fallback, source: 'fallback', name, reason: `unknown time zone ${JSON.stringify(name)}` };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
