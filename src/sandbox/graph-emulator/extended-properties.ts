/**
 * Single-value extended properties in queries, in the two forms Graph documents:
 * `$expand=singleValueExtendedProperties($filter=id eq '…')` to read one, and
 * `$filter=singleValueExtendedProperties/Any(ep: ep/id eq '…' and ep/value eq '…')` to select events by one.
 * Nothing else of OData's $filter grammar is understood (400, as Graph answers for what it cannot evaluate).
 */
import { GraphError } from './graph-errors';
import type { StoredEvent } from './event-store';

const unsupported = (what: string) => new GraphError(400, 'ErrorInvalidUrlQueryFilter', `The query filter contains one or more invalid nodes: ${what}`);

const quoted = "'((?:[^']|'')*)'";
const unquote = (s: string) => s.replace(/''/g, "'");

/** The ids an $expand asks for (lower-cased); undefined when nothing is expanded. */
export function expandedPropertyIds(expand: string | undefined): string[] | undefined {
  if (expand === undefined) return undefined;
  const m = new RegExp(`^singleValueExtendedProperties\\(\\$filter=(.*)\\)$`, 'i').exec(expand.trim());
  if (!m) throw new GraphError(400, 'BadRequest', `Parsing OData Select and Expand failed: Could not find a property named '${expand.split('(')[0]}' on type 'microsoft.graph.event'.`);
  const ids: string[] = [];
  for (const clause of m[1].split(/\s+or\s+/i)) {
    const idm = new RegExp(`^\\s*id\\s+eq\\s+${quoted}\\s*$`, 'i').exec(clause);
    if (!idm) throw unsupported(clause);
    ids.push(unquote(idm[1]).toLowerCase());
  }
  return ids;
}

/** A predicate for `$filter` (undefined = no filter). */
export function eventFilter(filter: string | undefined): ((e: StoredEvent) => boolean) | undefined {
  if (filter === undefined) return undefined;
  const m = new RegExp(
    `^singleValueExtendedProperties/any\\((\\w+):\\s*\\1/id\\s+eq\\s+${quoted}(?:\\s+and\\s+\\1/value\\s+eq\\s+${quoted})?\\)$`,
    'i',
  ).exec(filter.trim());
  if (!m) throw unsupported(filter);
  const id = unquote(m[2]).toLowerCase();
  const value = m[3] === undefined ? undefined : unquote(m[3]);
  return (e) => {
    const p = e.extended.get(id);
    return p !== undefined && (value === undefined || p.value === value);
  };
}
