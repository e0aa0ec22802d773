/**
 * The `Prefer` request header as Graph reads it: `outlook.timezone="…"`, `IdType="ImmutableId"`,
 * `odata.maxpagesize=N`, `outlook.body-content-type="text"`, in one header (comma-separated) or several.
 */
import { zoneOf } from './graph-time';

export interface Preferences {
  /** The zone name to answer times in (as the client wrote it), when valid. */
  timeZone?: string;
  immutableIds: boolean;
  maxPageSize?: number;
  bodyContentType?: 'text' | 'html';
  /** What to put in `Preference-Applied`. */
  applied: string[];
}

function split(header: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of header) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter(Boolean);
}

export function parsePrefer(header: string | string[] | undefined): Preferences {
  const prefs: Preferences = { immutableIds: false, applied: [] };
  const all = header === undefined ? [] : Array.isArray(header) ? header : [header];
  for (const part of all.flatMap(split)) {
    const at = part.indexOf('=');
    const name = (at < 0 ? part : part.slice(0, at)).trim().toLowerCase();
    const value = at < 0 ? '' : part.slice(at + 1).trim().replace(/^"(.*)"$/, '$1');
    if (name === 'outlook.timezone' && zoneOf(value)) {
      prefs.timeZone = value;
      prefs.applied.push(`outlook.timezone="${value}"`);
    } else if (name === 'idtype' && value.toLowerCase() === 'immutableid') {
      prefs.immutableIds = true;
      prefs.applied.push('IdType="ImmutableId"');
    } else if (name === 'odata.maxpagesize' && /^\d+$/.test(value) && Number(value) > 0) {
      prefs.maxPageSize = Number(value);
      prefs.applied.push(`odata.maxpagesize=${value}`);
    } else if (name === 'outlook.body-content-type' && (value === 'text' || value === 'html')) {
      prefs.bodyContentType = value;
      prefs.applied.push(`outlook.body-content-type="${value}"`);
    }
  }
  return prefs;
}
