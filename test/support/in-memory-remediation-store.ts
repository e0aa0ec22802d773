import type { LifecycleEvent } from '../../src/domain/lifecycle-event';
import type { IndexChanges } from '../../src/domain/remediation-lifecycle';
import { OPEN_STATUSES, type Remediation, type RemediationStatus } from '../../src/domain/remediation';
import { systemClock, type Clock } from '../../src/lib/clock';
import type { FeedQuery, ListFilter, RemediationRepository, StateWrite } from '../../src/services/ports';
import { armedMember, DEFAULT_FEED_MAX_LENGTH, parseArmedMember, type ArmedWindow } from '../../src/store/remediation-store';
import {
  compareStreamIds as compareCursorIds,
  decodeListCursor,
  encodeListCursor,
  isAfter,
  matchesFeed,
  matchesList,
  newestFirst,
  toStoredEvent,
} from '../../src/store/remediation-query';
import { LockTimeoutError } from '../../src/store/redis-lock';

/** Something that happened to the fakes, in order: lets a test say "the withdrawal was asked before the commit". */
export type JournalEntry =
  | { kind: 'commit'; remediationIds: string[]; statuses: RemediationStatus[]; events: string[] }
  | { kind: 'job'; method: string; detail?: unknown };

/** The order in which the fakes saw things happen (shared by the store and the job scheduler). */
export class Journal {
  readonly entries: JournalEntry[] = [];

  push(e: JournalEntry): void {
    this.entries.push(e);
  }

  /** Index of the first entry matching, or -1. */
  indexOf(match: (e: JournalEntry) => boolean): number {
    return this.entries.findIndex(match);
  }
}

interface FeedEntry {
  id: string;
  ms: number;
  seq: number;
  event: LifecycleEvent;
}

/** A sorted set the way Redis keeps one: by score, then member (byte order). */
class SortedSet {
  private readonly scores = new Map<string, number>();

  add(member: string, score: number, mode: 'always' | 'nx' | 'xx' = 'always'): void {
    const has = this.scores.has(member);
    if ((mode === 'nx' && has) || (mode === 'xx' && !has)) return;
    this.scores.set(member, score);
  }

  remove(member: string): void {
    this.scores.delete(member);
  }

  has(member: string): boolean {
    return this.scores.has(member);
  }

  score(member: string): number | undefined {
    return this.scores.get(member);
  }

  get size(): number {
    return this.scores.size;
  }

  /** Members in order (lowest score first). */
  members(): string[] {
    return [...this.scores].sort(([a, sa], [b, sb]) => sa - sb || (a < b ? -1 : a > b ? 1 : 0)).map(([m]) => m);
  }

  upTo(max: number): string[] {
    return this.members().filter((m) => (this.scores.get(m) as number) <= max);
  }
}

/** An async mutex per name, like RedisLock: not re-entrant, and a waiter gives up after `waitMs` (LockTimeoutError). */
class NamedMutex {
  private readonly tails = new Map<string, Promise<void>>();
  readonly held = new Set<string>();

  constructor(private readonly waitMs: number) {}

  /** Takes the lock if nobody holds or waits for it (no waiting); returns its release, or null. */
  tryTake(name: string): (() => void) | null {
    if (this.tails.has(name)) return null;
    let release!: () => void;
    const tail = new Promise<void>((r) => (release = r));
    this.tails.set(name, tail);
    this.held.add(name);
    return () => {
      this.held.delete(name);
      release();
      if (this.tails.get(name) === tail) this.tails.delete(name);
    };
  }

  async run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(name) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => mine);
    this.tails.set(name, tail);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), this.waitMs);
      timer.unref();
    });
    const got = await Promise.race([previous.then(() => 'got' as const), timedOut]);
    clearTimeout(timer);
    if (got === 'timeout') {
      // Our turn must not block the ones behind us: pass it on as soon as it comes.
      void previous.then(release);
      throw new LockTimeoutError(`lock:${name}`);
    }
    this.held.add(name);
    try {
      return await fn();
    } finally {
      this.held.delete(name);
      release();
      if (this.tails.get(name) === tail) this.tails.delete(name);
    }
  }
}

export interface InMemoryStoreOptions {
  /** Time for leases and TTLs (Redis keeps them in real time; tests pass their clock). Default: the system clock. */
  clock?: Clock;
  /** The global feed keeps this many events (the Redis store trims about as many). */
  feedMaxLength?: number;
  /** How long withOwnerLock waits for a held lock before LockTimeoutError (RedisLock: 15 s). */
  lockWaitMs?: number;
  journal?: Journal;
}

/**
 * RemediationRepository in memory, for service tests: the same contract as RemediationStore (Redis), kept the same
 * way — a remediation JSON per id (stored as text, so no caller can mutate what is stored), the host/owner pointers,
 * the owner's waiting queue by host id, the pending-booking queue with leases, a history per remediation and a
 * bounded global feed with stream-like cursors. `commit` applies every write and event with no await in between:
 * atomic as a MULTI is. `failNextCommit` makes the next commit throw before anything is applied (Redis gone).
 */
export class InMemoryRemediationStore implements RemediationRepository {
  private readonly rems = new Map<string, string>();
  private readonly created = new SortedSet();
  private readonly hostRems = new Map<number, Set<string>>();
  private readonly hostSeq = new Map<number, number>();
  private readonly hostOpen = new Map<number, string>();
  private readonly ownerActive = new Map<string, string>();
  private readonly ownerWaiting = new Map<string, SortedSet>();
  private readonly ownerRems = new Map<string, Set<string>>();
  private readonly pending = new SortedSet();
  private readonly leases = new Map<string, number>();
  private readonly booked = new SortedSet();
  private readonly armed = new SortedSet();
  private readonly firing = new SortedSet();
  /** Open remediations by creation time; fired windows not yet followed up in Fleet, by end (as RemediationStore). */
  private readonly open = new SortedSet();
  private readonly firedUncheckedSet = new SortedSet();
  private readonly histories = new Map<string, string[]>();
  private readonly counts = new Map<RemediationStatus, number>();
  private feed: FeedEntry[] = [];
  private feedLastMs = 0;
  private feedSeq = 0;
  private readonly latest = new Map<string, { at: number; expires: number }>();
  private readonly zones = new Map<string, { zone: string; expires: number }>();
  private readonly mutex: NamedMutex;
  private readonly clock: Clock;
  private readonly feedMaxLength: number;
  private commitFault: Error | null = null;
  readonly journal: Journal;
  /** How many commits were applied. */
  commits = 0;

  constructor(opts: InMemoryStoreOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.feedMaxLength = opts.feedMaxLength ?? DEFAULT_FEED_MAX_LENGTH;
    this.mutex = new NamedMutex(opts.lockWaitMs ?? 15_000);
    this.journal = opts.journal ?? new Journal();
  }

  // ─── test hooks ──────────────────────────────────────────────────────────────────────────────────────────────

  /** The next commit throws `err` and changes nothing (as a MULTI that never reached Redis). */
  failNextCommit(err: Error = new Error('connection lost')): void {
    this.commitFault = err;
  }

  /** Lock names held right now. */
  heldLocks(): string[] {
    return [...this.mutex.held];
  }

  /** The owner's waiting queue, lowest host id first. */
  waitingOf(email: string): string[] {
    return this.ownerWaiting.get(email)?.members() ?? [];
  }

  /** Ids on the booking queue, oldest first. */
  pendingIds(): string[] {
    return this.pending.members();
  }

  /** Every event of the global feed, in order. */
  allFeedEvents(): LifecycleEvent[] {
    return this.feed.map((e) => e.event);
  }

  /** Every remediation, oldest first. */
  async all(): Promise<Remediation[]> {
    return this.getMany(this.created.members());
  }

  // ─── RemediationRepository ───────────────────────────────────────────────────────────────────────────────────

  withOwnerLock<T>(lockName: string, fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(lockName, fn);
  }

  async withOwnerLocks<T>(lockNames: string[], fn: (held: ReadonlySet<string>) => Promise<T>): Promise<T> {
    const releases = new Map<string, () => void>();
    for (const name of new Set(lockNames)) {
      const release = this.mutex.tryTake(name);
      if (release) releases.set(name, release);
    }
    try {
      return await fn(new Set(releases.keys()));
    } finally {
      for (const release of releases.values()) release();
    }
  }

  async armWindow(w: ArmedWindow): Promise<void> {
    this.armed.add(armedMember(w), Date.parse(w.start));
  }

  /** As the Redis script: due members earliest first, removed as they are taken. */
  async takeArmedWindows(dueBy: number, limit: number): Promise<ArmedWindow[]> {
    const taken = this.armed.upTo(dueBy).slice(0, limit);
    for (const m of taken) this.armed.remove(m);
    return taken.map(parseArmedMember).filter((w): w is ArmedWindow => w !== null);
  }

  private readonly ranks = new Map<number, number>();

  async nextRankAt(startMs: number): Promise<number> {
    const rank = this.ranks.get(startMs) ?? 0;
    this.ranks.set(startMs, rank + 1);
    return rank;
  }

  async get(id: string): Promise<Remediation | null> {
    const raw = this.rems.get(id);
    return raw ? (JSON.parse(raw) as Remediation) : null;
  }

  async getMany(ids: string[]): Promise<Remediation[]> {
    return ids.map((id) => this.rems.get(id)).filter((r): r is string => r !== undefined).map((r) => JSON.parse(r) as Remediation);
  }

  async nextId(hostId: number): Promise<string> {
    const seq = (this.hostSeq.get(hostId) ?? 0) + 1;
    this.hostSeq.set(hostId, seq);
    return `h${hostId}-${seq}`;
  }

  async commit(writes: StateWrite[], occurredAt: number): Promise<LifecycleEvent[]> {
    if (this.commitFault) {
      const err = this.commitFault;
      this.commitFault = null;
      throw err;
    }
    // Everything below runs without an await: no other task sees half of it.
    const stored: LifecycleEvent[] = [];
    for (const w of writes) {
      this.save(w.remediation, w.index ?? {}, w.owner);
      if (w.previousStatus !== undefined && w.previousStatus !== w.remediation.status) {
        if (w.previousStatus) this.counts.set(w.previousStatus, (this.counts.get(w.previousStatus) ?? 0) - 1);
        this.counts.set(w.remediation.status, (this.counts.get(w.remediation.status) ?? 0) + 1);
      }
      for (const draft of w.events ?? []) {
        const event = toStoredEvent(w.remediation, draft, occurredAt);
        const json = JSON.stringify(event);
        const history = this.histories.get(w.remediation.id) ?? [];
        history.push(json);
        this.histories.set(w.remediation.id, history);
        this.appendFeed(JSON.parse(json) as LifecycleEvent);
        stored.push(event);
      }
    }
    this.commits++;
    this.journal.push({
      kind: 'commit',
      remediationIds: writes.map((w) => w.remediation.id),
      statuses: writes.map((w) => w.remediation.status),
      events: stored.map((e) => e.type),
    });
    return stored;
  }

  async history(id: string): Promise<LifecycleEvent[]> {
    return (this.histories.get(id) ?? []).map((raw) => JSON.parse(raw) as LifecycleEvent);
  }

  async readFeed(q: FeedQuery): Promise<{ events: LifecycleEvent[]; next: string | null }> {
    const scan = q.scan ?? Math.max(1000, q.limit * 10);
    const after = q.after ? parseStreamId(q.after) : null;
    const events: LifecycleEvent[] = [];
    let cursor = q.after ?? null;
    let read = 0;
    for (const entry of this.feed) {
      if (after && compareStreamIds(entry, after) <= 0) continue;
      if (events.length >= q.limit || read >= scan) break;
      read++;
      cursor = entry.id;
      if (matchesFeed(entry.event, q)) events.push(JSON.parse(JSON.stringify(entry.event)) as LifecycleEvent);
    }
    return { events, next: cursor };
  }

  async feedPosition(cursor: string): Promise<'within' | 'trimmed' | 'ahead'> {
    const head = this.feed[this.feed.length - 1];
    if (head && compareCursorIds(cursor, head.id) > 0) return 'ahead';
    const first = this.feed[0];
    if (first && cursor !== '0-0' && compareCursorIds(cursor, first.id) < 0) return 'trimmed';
    return 'within';
  }

  async feedHead(): Promise<string | null> {
    return this.feed.length > 0 ? this.feed[this.feed.length - 1].id : null;
  }

  async list(filter: ListFilter): Promise<{ remediations: Remediation[]; next: string | null }> {
    const limit = filter.limit ?? 100;
    const after = filter.cursor ? decodeListCursor(filter.cursor) : null;
    const ids =
      filter.hostId !== undefined
        ? [...(this.hostRems.get(filter.hostId) ?? [])]
        : filter.email !== undefined
          ? [...(this.ownerRems.get(filter.email.toLowerCase()) ?? [])]
          : this.created.members();
    const page = (await this.getMany(ids))
      .filter((r) => matchesList(r, filter) && (!after || isAfter(r, after)))
      .sort(newestFirst)
      .slice(0, limit + 1);
    const remediations = page.slice(0, limit);
    const last = remediations[remediations.length - 1];
    return { remediations, next: page.length > limit && last ? encodeListCursor(last) : null };
  }

  async bookedPage(offset: number, limit: number): Promise<Remediation[]> {
    return this.getMany(this.booked.members().slice(offset, offset + limit));
  }

  async openIds(): Promise<string[]> {
    return this.open.members();
  }

  async indexOpenRemediations(): Promise<number> {
    return 0;
  }

  async firedUnchecked(endedBy: number, limit: number): Promise<Remediation[]> {
    return this.getMany(this.firedUncheckedSet.upTo(endedBy).slice(0, limit));
  }

  async allFiring(): Promise<Remediation[]> {
    return this.getMany(this.firing.members());
  }

  async openForHost(hostId: number): Promise<Remediation | null> {
    const id = this.hostOpen.get(hostId);
    return id ? this.get(id) : null;
  }

  async openIdForHost(hostId: number): Promise<string | null> {
    return this.hostOpen.get(hostId) ?? null;
  }

  async activeForOwner(email: string): Promise<string | null> {
    return this.ownerActive.get(email) ?? null;
  }

  async firstWaiting(email: string): Promise<string | null> {
    return this.ownerWaiting.get(email)?.members()[0] ?? null;
  }

  async removeWaiting(email: string, id: string): Promise<void> {
    this.ownerWaiting.get(email)?.remove(id);
  }

  /** As the Redis script: due ids oldest first (at most limit × 20 looked at), leased ones skipped, the rest leased. */
  async claimPendingBookings(limit: number, notAfter: number, leaseMs: number): Promise<string[]> {
    const now = this.clock.now();
    const ids: string[] = [];
    for (const id of this.pending.upTo(notAfter).slice(0, limit * 20)) {
      if (ids.length >= limit) break;
      const lease = this.leases.get(id);
      if (lease !== undefined && lease > now) continue;
      this.leases.set(id, now + leaseMs);
      ids.push(id);
    }
    return ids;
  }

  async releaseBookingLeases(ids: string[]): Promise<void> {
    for (const id of ids) this.leases.delete(id);
  }

  async deferPendingBooking(id: string, at: number): Promise<void> {
    this.pending.add(id, at, 'xx');
  }

  async removePendingBooking(id: string): Promise<void> {
    this.pending.remove(id);
  }

  async countPendingBookings(): Promise<number> {
    return this.pending.size;
  }

  async statusCounts(): Promise<Partial<Record<RemediationStatus, number>>> {
    return Object.fromEntries(this.counts);
  }

  async recountStatusesIfMissing(): Promise<boolean> {
    if (this.counts.size > 0) return false;
    for (const r of await this.all()) this.counts.set(r.status, (this.counts.get(r.status) ?? 0) + 1);
    return this.counts.size > 0;
  }

  async markLatestEvent(hostId: number, policyId: number, occurredAt: number, ttlSeconds: number): Promise<boolean> {
    const key = `${hostId}/${policyId}`;
    const now = this.clock.now();
    const last = this.latest.get(key);
    if (last && last.expires > now && last.at > occurredAt) return false;
    this.latest.set(key, { at: occurredAt, expires: now + ttlSeconds * 1000 });
    return true;
  }

  async cachedTimeZone(email: string): Promise<string | null> {
    const cached = this.zones.get(email);
    return cached && cached.expires > this.clock.now() ? cached.zone : null;
  }

  async cacheTimeZone(email: string, zone: string, ttlSeconds: number): Promise<void> {
    this.zones.set(email, { zone, expires: this.clock.now() + ttlSeconds * 1000 });
  }

  // ─── internals ──────────────────────────────────────────────────────────────────────────────────────────────

  /** RemediationStore.queueSave, key for key. */
  private save(r: Remediation, changes: IndexChanges, formerOwner?: string): void {
    const owner = r.email ?? formerOwner;
    this.rems.set(r.id, JSON.stringify(r));
    this.created.add(r.id, Date.parse(r.createdAt));
    addTo(this.hostRems, r.host.id, r.id);
    if (r.email) addTo(this.ownerRems, r.email, r.id);
    if (r.status === 'booked' && r.start) this.booked.add(r.id, Date.parse(r.start));
    else this.booked.remove(r.id);
    if (r.status === 'firing') this.firing.add(r.id, Date.parse(r.firedAt ?? r.updatedAt));
    else this.firing.remove(r.id);
    if (OPEN_STATUSES.has(r.status)) this.open.add(r.id, Date.parse(r.createdAt));
    else this.open.remove(r.id);
    const unchecked = r.firedAt && r.end && !r.fleetFollowedUpAt && (r.status === 'firing' || r.status === 'fired' || r.status === 'delivery_failed');
    if (unchecked) this.firedUncheckedSet.add(r.id, Date.parse(r.end as string));
    else this.firedUncheckedSet.remove(r.id);
    if (changes.openForHost === true) this.hostOpen.set(r.host.id, r.id);
    if (changes.openForHost === false) this.hostOpen.delete(r.host.id);
    if (owner && changes.activeForOwner === true) this.ownerActive.set(owner, r.id);
    if (owner && changes.activeForOwner === false) this.ownerActive.delete(owner);
    if (owner && changes.waiting === true) {
      const queue = this.ownerWaiting.get(owner) ?? new SortedSet();
      queue.add(r.id, r.host.id);
      this.ownerWaiting.set(owner, queue);
    }
    if (owner && changes.waiting === false) this.ownerWaiting.get(owner)?.remove(r.id);
    if (changes.pendingSince !== undefined) this.pending.add(r.id, changes.pendingSince, 'nx');
    if (changes.pending === false) this.pending.remove(r.id);
  }

  /** XADD * with MAXLEN: ids `<ms>-<seq>`, strictly increasing even when the clock stands still or goes back. */
  private appendFeed(event: LifecycleEvent): void {
    const ms = Math.max(Date.now(), this.feedLastMs);
    this.feedSeq = ms === this.feedLastMs ? this.feedSeq + 1 : 0;
    this.feedLastMs = ms;
    this.feed.push({ id: `${ms}-${this.feedSeq}`, ms, seq: this.feedSeq, event });
    if (this.feed.length > this.feedMaxLength) this.feed = this.feed.slice(this.feed.length - this.feedMaxLength);
  }
}

function addTo<K>(map: Map<K, Set<string>>, key: K, id: string): void {
  const set = map.get(key) ?? new Set<string>();
  set.add(id);
  map.set(key, set);
}

function parseStreamId(id: string): { ms: number; seq: number } {
  const m = /^(\d+)-(\d+)$/.exec(id);
  if (!m) throw new Error(`ERR Invalid stream ID specified as stream command argument: ${id}`);
  return { ms: Number(m[1]), seq: Number(m[2]) };
}

function compareStreamIds(a: { ms: number; seq: number }, b: { ms: number; seq: number }): number {
  return a.ms - b.ms || a.seq - b.seq;
}
