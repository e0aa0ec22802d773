import { createHash } from 'node:crypto';
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { LifecycleEvent } from '../domain/lifecycle-event';
import type { Remediation } from '../domain/remediation';
import type { LifecycleDelivery } from '../services/lifecycle-webhook-service';
import type { WindowNotice } from '../services/window-notice-service';
import { eventKey, type PolicyEvent } from '../ingest/policy-event';
import type { Clock } from '../lib/clock';
import type { Logger } from '../lib/logger';
import type { RedisClient } from '../lib/redis-connection';
import type { JobScheduler } from '../services/ports';
import type { FireRequest } from '../services/fire-service';
import type { DeliveryRef, EventWithdrawal } from '../services/ports';
import { CAPPED_EXPONENTIAL, QUEUE } from './queue-names';
import { lookAheadMs } from '../services/fire-service';
import { TIMER_HORIZON_MS, WindowTimers, type FireTimer, type UpcomingTimer, type WindowTimer } from './window-timers';

/**
 * Booking wake-ups arriving within this window are merged into one job, so one freeBusy serves many owners. Rounds
 * run one at a time per daemon, so requests made while one runs are merged anyway: the window only has to gather
 * what arrives together (a batch of policy events, a burst of hand-overs). 150 ms until 2026-12-04; 50 ms takes
 * 100 ms off every rebook after an owner deletes their event.
 */
export const BOOKING_COALESCE_MS = 50;
/** How much sooner than its deduplication window a coalesced job is asked for again (clock and queue delays). */
const COALESCE_MARGIN_MS = 20;

/** How long a channel round asked for may wait to start before another request adds one more. */
export const ROUND_ASKED_TTL_MS = 60_000;

/**
 * Push notifications for one calendar arriving within this window cause one sync (Google sends one per change, and
 * an owner dragging an event sends a few). 250 ms until 2026-12-04; 100 ms takes 150 ms off following a change.
 */
export const SYNC_COALESCE_MS = 100;

const KEEP: Pick<JobsOptions, 'removeOnComplete' | 'removeOnFail'> = {
  // Completed jobs are kept a week so a re-sent event (same job id) is not processed twice.
  removeOnComplete: { age: 7 * 24 * 3600, count: 50_000 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

/**
 * Fire and delivery jobs. Webhook retries do not use these attempts: the worker moves the job back to `delayed`
 * as the delivery policy says (Retry-After, budget). These attempts cover the job itself failing (Redis blips).
 */
const DELIVERY_JOB: Pick<JobsOptions, 'attempts' | 'backoff'> = { attempts: 10, backoff: { type: 'exponential', delay: 2000 } };

/**
 * A policy event re-sent within this long of the first is ignored (a producer's retries come within minutes); a
 * later copy is applied in order and changes nothing. Each key costs ~170 B while it lives: an hour of them at
 * fleet-scale ingest rates was ~3 % of Redis.
 */
export const POLICY_EVENT_DEDUP_MS = 600_000;

/**
 * A policy event is retried for about a day (1 s doubling up to 5 min between attempts, see workers.ts): a Fleet
 * API or Redis outage must not drop it, and Fleet sends a failing host only once.
 */
const POLICY_EVENT_RETRIES: Pick<JobsOptions, 'attempts' | 'backoff'> = { attempts: 300, backoff: { type: CAPPED_EXPONENTIAL } };

/** The job system: BullMQ queues behind the JobScheduler port, plus ingest enqueueing. */
export class BullmqScheduler implements JobScheduler {
  readonly policyEvents: Queue;
  readonly bookings: Queue;
  readonly fires: Queue;
  readonly calendarSync: Queue;
  readonly calendarWatch: Queue;
  readonly lifecycle: Queue;
  readonly fleetSync: Queue;
  /** Far-off fire and window.upcoming jobs wait here until TIMER_HORIZON_MS before they are due. */
  readonly timers: WindowTimers;
  /** Set while a channel round is asked for and has not started (requestChannelMaintenance). */
  private readonly roundAskedKey: string;

  constructor(
    /** An ioredis client the queues share (BullMQ takes it as their connection). */
    private readonly connection: RedisClient,
    prefix: string,
    private readonly clock: Clock,
    logger?: Logger,
    /** The window's place among those booked at its start (RemediationStore.nextRankAt): spreads a burst's last looks. */
    private readonly rankAt?: (startMs: number) => Promise<number>,
  ) {
    this.policyEvents = new Queue(QUEUE.policyEvents, { connection, prefix });
    this.bookings = new Queue(QUEUE.bookings, { connection, prefix });
    this.fires = new Queue(QUEUE.fires, { connection, prefix });
    this.calendarSync = new Queue(QUEUE.calendarSync, { connection, prefix });
    this.calendarWatch = new Queue(QUEUE.calendarWatch, { connection, prefix });
    this.lifecycle = new Queue(QUEUE.lifecycle, { connection, prefix });
    this.fleetSync = new Queue(QUEUE.fleetSync, { connection, prefix });
    this.timers = new WindowTimers(connection, prefix);
    this.roundAskedKey = `${prefix}:channel-round:asked`;
    // A queue without an 'error' listener would crash the process when Redis goes away; callers see failed adds.
    for (const q of this.allQueues) {
      q.on('error', (err) => logger?.warn({ queue: q.name, err: err.message }, 'queue connection error'));
    }
  }

  /**
   * Enqueues validated events. The same event twice is one job: the job id is derived from the event while its job
   * exists, and a deduplication key (POLICY_EVENT_DEDUP_MS) catches a producer re-sending it after its job is done.
   * Done jobs are dropped at once (the remediation records what the event did); one repeated later still changes
   * nothing: events are applied per host and policy in the order they happened (see RemediationService.handle), and
   * a failing policy already open is no change.
   */
  async enqueuePolicyEvents(events: PolicyEvent[]): Promise<void> {
    await this.policyEvents.addBulk(
      events.map((e) => {
        const id = policyEventJobId(e);
        return {
          name: e.type,
          data: e,
          opts: { removeOnComplete: true, removeOnFail: KEEP.removeOnFail, jobId: id, deduplication: { id, ttl: POLICY_EVENT_DEDUP_MS }, ...POLICY_EVENT_RETRIES },
        };
      }),
    );
  }

  /** When this daemon last added each shared coalesced job (book-pending, maintain-channels, lifecycle-dispatch). */
  private readonly lastAdded = new Map<string, number>();

  /**
   * A coalesced job asked for by this daemon a moment ago has not started yet and starts after the caller's commit,
   * so the request is not sent again. "A moment": our add may have been deduplicated into a job added up to
   * windowMs earlier, which starts `delay` after its own add; so at most delay − windowMs − a margin (30 ms for
   * book-pending and maintain-channels). A burst of windows firing at 09:00 makes hundreds of such requests a
   * second; most cost nothing here. (30 ms for lifecycle-dispatch too, whose window is 50 ms.)
   */
  private async coalescedHere(queue: Queue, name: string, data: object, o: Parameters<typeof coalesced>[3]): Promise<void> {
    const askedAt = Date.now();
    if (this.recentlyAdded(o.id, o.windowMs, o.delayMs)) return;
    await coalesced(queue, name, data, o);
    this.lastAdded.set(o.id, askedAt);
  }

  private recentlyAdded(id: string, windowMs: number, delayMs = windowMs + 50): boolean {
    const last = this.lastAdded.get(id);
    return last !== undefined && Date.now() - last < delayMs - windowMs - COALESCE_MARGIN_MS;
  }

  async requestBooking(): Promise<void> {
    await this.coalescedHere(this.bookings, 'book-pending', {}, { id: 'book-pending', windowMs: BOOKING_COALESCE_MS, attempts: 3, keepFailed: 100 });
  }


  /** A safety net: pending bookings (deferred retries, expired leases of crashed daemons) are swept every 10 s. */
  async startBookingSweep(everyMs = 10_000): Promise<void> {
    await this.bookings.upsertJobScheduler('booking-sweep', { every: everyMs }, { name: 'book-pending', opts: { removeOnComplete: true, removeOnFail: { count: 100 } } });
  }

  /**
   * The window's fire job and, `notifyBeforeMinutes` ahead of its start, its window.upcoming notice. Far off, both
   * wait as one timer (see WindowTimers); the fire job is set before the notice, so a daemon killed in between
   * leaves the window with what fires it.
   */
  async scheduleWindow(r: Remediation, notifyBeforeMinutes: number): Promise<void> {
    if (!r.start) return;
    const startMs = Date.parse(r.start);
    const base = { remediationId: r.id, bookingNumber: r.bookingNumber, start: r.start };
    const noticeDueMs = startMs - notifyBeforeMinutes * 60_000;
    if (notifyBeforeMinutes > 0 && noticeDueMs - this.clock.now() > TIMER_HORIZON_MS) {
      await this.timers.add([{ kind: 'window', ...base, minutesBefore: notifyBeforeMinutes, dueMs: noticeDueMs }]);
      return;
    }
    await this.scheduleFireOf(base);
    if (notifyBeforeMinutes > 0) await this.scheduleNotice({ kind: 'upcoming', ...base, minutesBefore: notifyBeforeMinutes, dueMs: noticeDueMs });
  }

  /** The fire timer (far off) or job of a window, its last look spread by its rank among the windows of its start. */
  private async scheduleFireOf(w: Pick<FireTimer, 'remediationId' | 'bookingNumber' | 'start'>): Promise<void> {
    const startMs = Date.parse(w.start);
    // In a burst, the windows given a place later look earlier.
    const rank = this.rankAt ? await this.rankAt(startMs) : 0;
    const timer: FireTimer = { kind: 'fire', remediationId: w.remediationId, bookingNumber: w.bookingNumber, start: w.start, dueMs: startMs - lookAheadMs(rank) };
    if (timer.dueMs - this.clock.now() > TIMER_HORIZON_MS) await this.timers.add([timer]);
    else await this.addFireJobs([timer]);
  }

  /** Fire jobs that run their last look at `dueMs` (a little before the start; then the window waits for it). */
  private async addFireJobs(timers: FireTimer[]): Promise<void> {
    if (timers.length === 0) return;
    const now = this.clock.now();
    await this.fires.addBulk(
      timers.map((t) => {
        const req: FireRequest = { remediationId: t.remediationId, bookingNumber: t.bookingNumber, start: t.start, lookAheadMs: Date.parse(t.start) - t.dueMs };
        return { name: 'fire', data: req, opts: { ...KEEP, jobId: fireJobId(t), delay: Math.max(0, t.dueMs - now), ...DELIVERY_JOB } };
      }),
    );
  }

  /**
   * Adds the jobs of up to `limit` window timers coming due (see WindowTimers); returns how many were taken. Each
   * daemon's WindowTimerLoop calls it every second.
   */
  async promoteDueTimers(limit: number): Promise<number> {
    const taken = await this.timers.take(this.clock.now(), limit);
    if (taken.length === 0) return 0;
    const fires = taken.map((t) => t.timer).filter((t): t is FireTimer => t.kind === 'fire');
    await this.addFireJobs(fires);
    for (const { timer: t } of taken) {
      if (t.kind === 'fire') continue;
      if (t.kind === 'window') await this.scheduleFireOf(t);
      await this.addUpcomingJob({ kind: 'upcoming', remediationId: t.remediationId, bookingNumber: t.bookingNumber, start: t.start, minutesBefore: t.minutesBefore, dueMs: t.dueMs });
    }
    await this.timers.done(taken.map((t) => t.ref));
    return taken.length;
  }

  /** A redelivery: one job per delivery number (a repeated request cannot enqueue it twice). */
  async enqueueDelivery(ref: DeliveryRef, delayMs = 0): Promise<void> {
    const jobId = deliverJobId(ref.remediationId, ref.deliveryNumber);
    // A job of this number that has ended without starting the delivery (it failed, or found the remediation
    // busy) would swallow the new request: BullMQ ignores an add whose id exists. It makes way.
    const previous = await this.fires.getJob(jobId);
    if (previous && ((await previous.isFailed()) || (await previous.isCompleted()))) await previous.remove();
    await this.fires.add('deliver', ref, { ...KEEP, jobId, ...DELIVERY_JOB, ...(delayMs > 0 ? { delay: delayMs } : {}) });
  }

  async deliveryJobLive(r: Remediation): Promise<boolean> {
    const number = r.delivery?.number ?? 1;
    // Delivery 1 is carried by the window's fire job, or by a deliver job when an admin fired it now.
    const ids = number === 1 ? [fireJobId(r), deliverJobId(r.id, 1)] : [deliverJobId(r.id, number)];
    for (const id of ids) {
      const job = await this.fires.getJob(id);
      if (!job) continue;
      // Anything but ended: waiting, delayed, active (a stalled one included), prioritized.
      const state = await job.getState();
      if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return true;
    }
    return false;
  }

  async withdrawEvent(w: EventWithdrawal): Promise<void> {
    await this.calendarSync.add('withdraw-event', w, {
      // Added just before the change that gives the event up is saved: by then it normally is.
      delay: 250,
      jobId: `withdraw-${hashId(`${w.owner}/${w.eventId}`)}`,
      removeOnComplete: true,
      removeOnFail: true,
      attempts: 12,
      backoff: { type: 'exponential', delay: 500 },
    });
  }

  /** One sync per owner for a burst of notifications: requests within the window share one job. */
  async requestSync(owner: string): Promise<void> {
    await coalesced(this.calendarSync, 'sync', { owner }, { id: `sync-${hashId(owner)}`, windowMs: SYNC_COALESCE_MS, attempts: 5, keepFailed: 1000 });
  }


  /**
   * Asks for a channel round. At most one waits, across daemons: the first request sets `…:channel-round:asked`
   * and adds the job; later ones find the mark and are answered by that round, which clears the mark as it starts
   * (channelRoundStarting) and reads what they stored. Without it, 100,000 bookings queued 17,000 rounds behind a
   * slow one. The mark expires (ROUND_ASKED_TTL_MS) should its job be lost; the watch tick runs rounds anyway.
   */
  async requestChannelMaintenance(): Promise<void> {
    if (this.recentlyAdded('maintain-channels', 50)) return;
    if ((await this.connection.set(this.roundAskedKey, '1', 'PX', ROUND_ASKED_TTL_MS, 'NX')) === null) return;
    try {
      await this.coalescedHere(this.calendarWatch, 'maintain-channels', {}, { id: 'maintain-channels', windowMs: 50, attempts: 3, keepFailed: 100 });
    } catch (err) {
      await this.connection.del(this.roundAskedKey).catch(() => 0);
      throw err;
    }
  }

  /** A channel round starts: requests from now on need a round of their own (see requestChannelMaintenance). */
  async channelRoundStarting(): Promise<void> {
    await this.connection.del(this.roundAskedKey);
  }


  async requestLifecycleDispatch(): Promise<void> {
    await this.coalescedHere(this.lifecycle, 'dispatch', {}, { id: 'lifecycle-dispatch', windowMs: 50, delayMs: 100, attempts: 5, keepFailed: 100 });
  }


  private async addUpcomingJob(t: UpcomingTimer): Promise<void> {
    const req: WindowNotice = { remediationId: t.remediationId, bookingNumber: t.bookingNumber, start: t.start, minutesBefore: t.minutesBefore };
    const jobId = upcomingJobId(t);
    // A window moved away and back to this start: its old notice job has ended and would swallow the new one.
    const previous = await this.lifecycle.getJob(jobId);
    if (previous && ((await previous.isCompleted()) || (await previous.isFailed()))) await previous.remove();
    await this.lifecycle.add('upcoming', req, {
      jobId,
      delay: Math.max(0, t.dueMs - this.clock.now()),
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
      attempts: 10,
      backoff: { type: 'exponential', delay: 1000 },
    });
  }

  async ensureWindowJobs(rs: Remediation[], notifyBeforeMinutes: number): Promise<number> {
    const windows = rs.filter((r): r is Remediation & { start: string } => !!r.start);
    if (windows.length === 0) return 0;
    const notify = notifyBeforeMinutes > 0;
    // One round trip for the whole page: which job hashes exist (any state: as an add with that id would see it)…
    const p = this.connection.pipeline();
    for (const r of windows) p.exists(this.fires.toKey(fireJobId(r))).exists(this.lifecycle.toKey(upcomingJobId(r)));
    const jobs = ((await p.exec()) ?? []).map(([err, n]: [Error | null, unknown]) => {
      if (err) throw err;
      return n === 1;
    });
    // … and one for which wait as timers (a timer's due time is not part of what identifies it): per window its
    // fire timer, its notice's, and the one of both.
    const refs = windows.map((r) => ({ remediationId: r.id, bookingNumber: r.bookingNumber, start: r.start }));
    const waiting = await this.timers.waiting(
      refs.flatMap((w): WindowTimer[] => [
        { kind: 'fire', ...w, dueMs: 0 },
        { kind: 'upcoming', ...w, minutesBefore: notifyBeforeMinutes, dueMs: 0 },
        { kind: 'window', ...w, minutesBefore: notifyBeforeMinutes, dueMs: 0 },
      ]),
    );
    let added = 0;
    for (const [i, w] of refs.entries()) {
      const both = waiting[3 * i + 2];
      const fireMissing = !jobs[2 * i] && !waiting[3 * i] && !both;
      const noticeMissing = notify && !jobs[2 * i + 1] && !waiting[3 * i + 1] && !both;
      if (fireMissing && noticeMissing) await this.scheduleWindow(windows[i], notifyBeforeMinutes);
      else if (fireMissing) await this.scheduleFireOf(w);
      else if (noticeMissing) await this.scheduleNotice({ kind: 'upcoming', ...w, minutesBefore: notifyBeforeMinutes, dueMs: Date.parse(w.start) - notifyBeforeMinutes * 60_000 });
      if (fireMissing) added++;
    }
    return added;
  }

  /** A notice's timer (far off) or job. */
  private async scheduleNotice(t: UpcomingTimer): Promise<void> {
    if (t.dueMs - this.clock.now() > TIMER_HORIZON_MS) await this.timers.add([t]);
    else await this.addUpcomingJob(t);
  }

  async scheduleWindowEnd(r: Remediation): Promise<void> {
    if (!r.start || !r.end) return;
    const req: WindowNotice = { remediationId: r.id, bookingNumber: r.bookingNumber, start: r.start, minutesBefore: 0 };
    await this.lifecycle.add('window-end', req, {
      jobId: `window-end-${r.id}-${r.bookingNumber}-${Date.parse(r.start)}`,
      delay: Math.max(0, Date.parse(r.end) - this.clock.now()),
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
      attempts: 10,
      backoff: { type: 'exponential', delay: 1000 },
    });
  }

  /** One lifecycle webhook per event: the job id is the event's, so a dispatch repeated after a crash adds nothing. */
  async enqueueLifecycleWebhooks(events: LifecycleEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.lifecycle.addBulk(
      events.map((event) => ({
        name: 'lifecycle-webhook',
        data: { event } satisfies LifecycleDelivery,
        opts: { jobId: `lc-${event.id}`, ...KEEP, ...DELIVERY_JOB },
      })),
    );
  }

  /** The repeating watch tick (channel upkeep, then the poll); it runs on one daemon at a time. */
  async startWatchSchedule(everyMs: number): Promise<void> {
    await this.calendarWatch.upsertJobScheduler(
      'watch-tick',
      { every: everyMs },
      { name: 'watch-tick', opts: { removeOnComplete: true, removeOnFail: { count: 100 } } },
    );
  }

  /** The repeating Fleet sync (FLEET_SYNC_INTERVAL_SECONDS): one job per interval, whichever daemon takes it. */
  async startFleetSync(everyMs: number): Promise<void> {
    await this.fleetSync.upsertJobScheduler('fleet-sync', { every: everyMs }, { name: 'fleet-sync', opts: { removeOnComplete: true, removeOnFail: { count: 100 } } });
  }

  /** Every queue of the daemon (the dashboard shows them). */
  get allQueues(): Queue[] {
    return [this.policyEvents, this.bookings, this.fires, this.calendarSync, this.calendarWatch, this.lifecycle, this.fleetSync];
  }

  /** Jobs per queue and state, for metrics (and the window timers, as `window-timers` / `delayed`). */
  async depths(): Promise<Record<string, Record<string, number>>> {
    const [counts, timers] = await Promise.all([
      Promise.all(this.allQueues.map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized', 'waiting-children'))),
      this.timers.count(),
    ]);
    // The windows' fire and window.upcoming jobs still waiting as timers (see WindowTimers) show as one more queue.
    return { ...Object.fromEntries(this.allQueues.map((q, i) => [q.name, counts[i]])), 'window-timers': { delayed: timers } };
  }

  async close(): Promise<void> {
    await Promise.all(this.allQueues.map((q) => q.close()));
  }
}

/**
 * A job that requests within `windowMs` of each other share (BullMQ deduplication): it runs a little after the
 * window, so a burst of requests becomes one run. Completed runs are dropped; the last `keepFailed` failed ones kept.
 */
async function coalesced(
  queue: Queue,
  name: string,
  data: object,
  o: { id: string; windowMs: number; attempts: number; keepFailed: number; delayMs?: number },
): Promise<void> {
  await queue.add(name, data, {
    delay: o.delayMs ?? o.windowMs + 50,
    deduplication: { id: o.id, ttl: o.windowMs },
    removeOnComplete: true,
    removeOnFail: { count: o.keepFailed },
    attempts: o.attempts,
    backoff: { type: 'exponential', delay: 1000 },
  });
}

/** One fire job per remediation, booking and start: a moved window gets a new one, a repeated add is nothing. */
function fireJobId(w: WindowRef): string {
  return `fire-${windowKey(w)}`;
}

/** One window.upcoming job per remediation, booking and start. */
function upcomingJobId(w: WindowRef): string {
  return `upcoming-${windowKey(w)}`;
}

/** A booked window: a remediation's booking at a start (a remediation, or a timer's fields). */
type WindowRef = Pick<Remediation, 'id' | 'bookingNumber' | 'start'> | Pick<WindowTimer, 'remediationId' | 'bookingNumber' | 'start'>;

function windowKey(w: WindowRef): string {
  return `${'remediationId' in w ? w.remediationId : w.id}-${w.bookingNumber}-${Date.parse(w.start ?? '')}`;
}

/** One job per delivery number of a remediation (1 is the fire job's). */
function deliverJobId(remediationId: string, deliveryNumber: number): string {
  return `deliver-${remediationId}-${deliveryNumber}`;
}

export function policyEventJobId(e: PolicyEvent): string {
  return `ev-${hashId(eventKey(e))}`;
}

/** Job ids may not hold ':' and should not carry emails: a short hash does. */
function hashId(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}
