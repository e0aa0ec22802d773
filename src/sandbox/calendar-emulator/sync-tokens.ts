/**
 * Opaque tokens of events.list: sync tokens (a point in a calendar's change sequence) and page tokens (the rest
 * of a result, with the sync point it will end on). Unknown or expired sync tokens answer 410 fullSyncRequired.
 */
import { randomBytes } from 'node:crypto';
import type { GoogleEventResource } from './types';

export interface SyncPoint {
  calendar: string;
  seq: number;
}

export interface PageState {
  calendar: string;
  items: GoogleEventResource[];
  offset: number;
  /** The sync point the last page's nextSyncToken will carry (taken when the first page was served). */
  syncSeq: number;
}

/** Google-looking opaque token, e.g. "CPDAlvWDx70CEPDAlvWDx70CGAU=". */
const opaque = (prefix: string) => `${prefix}${randomBytes(18).toString('base64')}`;

/** Keeps at most `limit` entries, forgetting the oldest (Map keeps insertion order). */
function bounded<K, V>(map: Map<K, V>, limit: number): void {
  while (map.size > limit) {
    const oldest = map.keys().next();
    if (oldest.done) break;
    map.delete(oldest.value);
  }
}

export class SyncTokens {
  private readonly tokens = new Map<string, SyncPoint>();

  issue(calendar: string, seq: number): string {
    const token = opaque('CP');
    this.tokens.set(token, { calendar, seq });
    bounded(this.tokens, 100_000);
    return token;
  }

  resolve(token: string, calendar: string): SyncPoint | undefined {
    const point = this.tokens.get(token);
    return point && point.calendar === calendar ? point : undefined;
  }

  /** Forgets the tokens of one calendar (or all): clients holding them must do a full sync. */
  expire(calendar?: string): void {
    for (const [token, point] of this.tokens) if (calendar === undefined || point.calendar === calendar) this.tokens.delete(token);
  }
}

export class PageTokens {
  private readonly pages = new Map<string, PageState>();

  save(state: PageState): string {
    const token = opaque('EL');
    this.pages.set(token, state);
    bounded(this.pages, 1_000);
    return token;
  }

  get(token: string, calendar: string): PageState | undefined {
    const state = this.pages.get(token);
    return state && state.calendar === calendar ? state : undefined;
  }
}
