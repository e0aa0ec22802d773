/** Reading Google-style query parameters (Fastify gives a string, or an array for repeated names). */
import { badRequest, invalid } from './google-errors';
import { parseRfc3339 } from './time';

export type Query = Record<string, string | string[] | undefined>;

export function single(query: Query, name: string): string | undefined {
  const v = query[name];
  return Array.isArray(v) ? v[0] : v;
}

export function multiple(query: Query, name: string): string[] {
  const v = query[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

export function booleanParam(query: Query, name: string): boolean {
  const v = single(query, name);
  if (v === undefined || v === 'false') return false;
  if (v === 'true') return true;
  throw invalid(`Invalid value for: ${name}`);
}

/** An RFC 3339 timestamp with offset (ms), undefined when absent; 400 badRequest when malformed. */
export function timeParam(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseRfc3339(value);
  if (ms === null) throw badRequest();
  return ms;
}

export function integerParam(query: Query, name: string, min: number): number | undefined {
  const v = single(query, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^-?\d+$/.test(v) || n < min) throw invalid(`Invalid value '${v}'. Values must be within the range: [${min}, ${Number.MAX_SAFE_INTEGER}]`);
  return n;
}
