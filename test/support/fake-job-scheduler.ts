import type { LifecycleEvent } from '../../src/domain/lifecycle-event';
import type { Remediation } from '../../src/domain/remediation';
import type { Clock } from '../../src/lib/clock';
import type { Services } from '../../src/services/create-services';
import type { DeliveryOutcome } from '../../src/services/delivery-service';
import { FIRE_LOOK_AHEAD_MS, type FireRequest } from '../../src/services/fire-service';
import type { DeliveryRef, EventWithdrawal, JobScheduler } from '../../src/services/ports';
import type { WindowNotice } from '../../src/services/window-notice-service';
import { Journal } from './in-memory-remediation-store';

/** A job the fake keeps: its data and when it is due (clock time), like a delayed BullMQ job with an id. */
export interface FakeJob<T> {
  id: string;
  data: T;
  dueAt: number;
  /** Runs so far that threw (BullMQ's attemptsMade). */
  failures: number;
  lastError?: string;
}

/**
 * The JobScheduler port without BullMQ: it records what services ask for — with the same job ids, so an add that
 * BullMQ would ignore (same id) is ignored here too — and runs the jobs on demand, through the services, when a
 * test says so (`runBookings`, `runDue`…), at the test clock's time. Nothing runs by itself.
 */
export class FakeJobScheduler implements JobScheduler {
  private services: Services | null = null;
  bookingRequests = 0;
  private bookingWanted = false;
  channelMaintenanceRequests = 0;
  lifecycleDispatchRequests = 0;
  readonly syncRequests: string[] = [];
  readonly fires = new Map<string, FakeJob<FireRequest>>();
  readonly deliveries = new Map<string, FakeJob<DeliveryRef>>();
  readonly withdrawals = new Map<string, FakeJob<EventWithdrawal>>();
  readonly upcoming = new Map<string, FakeJob<WindowNotice>>();
  readonly windowEnds = new Map<string, FakeJob<WindowNotice>>();
  readonly lifecycleWebhooks = new Map<string, LifecycleEvent>();
  /** Every withdrawal ever asked for (the map above only holds the ones not done yet). */
  readonly withdrawalsRequested: EventWithdrawal[] = [];
  /** What fire and delivery jobs returned, in order. */
  readonly outcomes: Array<{ job: string; outcome: DeliveryOutcome }> = [];

  constructor(
    private readonly clock: Clock,
    readonly journal: Journal = new Journal(),
  ) {}

  /** The services whose jobs this scheduler runs (built after it: createServices takes it as a port). */
  attach(services: Services): void {
    this.services = services;
  }

  // ─── JobScheduler ───────────────────────────────────────────────────────────────────────────────────────────

  async requestBooking(): Promise<void> {
    this.record('requestBooking');
    this.bookingRequests++;
    this.bookingWanted = true;
  }

  async scheduleWindow(r: Remediation, notifyBeforeMinutes: number): Promise<void> {
    await this.scheduleFire(r);
    await this.scheduleUpcoming(r, notifyBeforeMinutes);
  }

  private async scheduleFire(r: Remediation): Promise<void> {
    if (!r.start) return;
    const id = `fire-${r.id}-${r.bookingNumber}-${Date.parse(r.start)}`;
    this.record('scheduleFire', { id });
    if (!this.fires.has(id)) this.fires.set(id, job(id, { remediationId: r.id, bookingNumber: r.bookingNumber, start: r.start }, Date.parse(r.start) - FIRE_LOOK_AHEAD_MS));
  }

  async requestSync(owner: string): Promise<void> {
    this.record('requestSync', { owner });
    this.syncRequests.push(owner);
  }

  async requestChannelMaintenance(): Promise<void> {
    this.record('requestChannelMaintenance');
    this.channelMaintenanceRequests++;
  }

  async enqueueDelivery(ref: DeliveryRef, delayMs = 0): Promise<void> {
    const id = `deliver-${ref.remediationId}-${ref.deliveryNumber}`;
    this.record('enqueueDelivery', { id });
    if (!this.deliveries.has(id)) this.deliveries.set(id, job(id, ref, this.clock.now() + delayMs));
  }

  async withdrawEvent(w: EventWithdrawal): Promise<void> {
    const id = `withdraw-${w.owner}/${w.eventId}`;
    this.record('withdrawEvent', w);
    this.withdrawalsRequested.push(w);
    if (!this.withdrawals.has(id)) this.withdrawals.set(id, job(id, w, this.clock.now()));
  }

  async deliveryJobLive(r: Remediation): Promise<boolean> {
    const number = r.delivery?.number ?? 1;
    if (this.deliveries.has(`deliver-${r.id}-${number}`)) return true;
    return number === 1 && !!r.start && this.fires.has(`fire-${r.id}-${r.bookingNumber}-${Date.parse(r.start)}`);
  }

  async requestLifecycleDispatch(): Promise<void> {
    this.lifecycleDispatchRequests++;
  }

  private async scheduleUpcoming(r: Remediation, minutesBefore: number): Promise<void> {
    if (!r.start || minutesBefore <= 0) return;
    const startMs = Date.parse(r.start);
    const id = `upcoming-${r.id}-${r.bookingNumber}-${startMs}`;
    this.record('scheduleUpcoming', { id });
    if (!this.upcoming.has(id)) {
      this.upcoming.set(id, job(id, { remediationId: r.id, bookingNumber: r.bookingNumber, start: r.start, minutesBefore }, startMs - minutesBefore * 60_000));
    }
  }

  async ensureWindowJobs(rs: Remediation[], notifyBeforeMinutes: number): Promise<number> {
    let added = 0;
    for (const r of rs) {
      if (!r.start) continue;
      if (!this.fires.has(`fire-${r.id}-${r.bookingNumber}-${Date.parse(r.start)}`)) {
        await this.scheduleFire(r);
        added++;
      }
      await this.scheduleUpcoming(r, notifyBeforeMinutes);
    }
    return added;
  }

  async scheduleWindowEnd(r: Remediation): Promise<void> {
    if (!r.start || !r.end) return;
    const id = `window-end-${r.id}-${r.bookingNumber}-${Date.parse(r.start)}`;
    this.record('scheduleWindowEnd', { id });
    if (!this.windowEnds.has(id)) this.windowEnds.set(id, job(id, { remediationId: r.id, bookingNumber: r.bookingNumber, start: r.start, minutesBefore: 0 }, Date.parse(r.end)));
  }

  async enqueueLifecycleWebhooks(events: LifecycleEvent[]): Promise<void> {
    for (const e of events) if (!this.lifecycleWebhooks.has(e.id)) this.lifecycleWebhooks.set(e.id, e);
  }

  // ─── running jobs on demand ─────────────────────────────────────────────────────────────────────────────────

  /** The booking worker: rounds while bookings were requested (a round may ask for another). */
  async runBookings(maxRounds = 10): Promise<number> {
    const s = this.attached();
    let booked = 0;
    for (let i = 0; i < maxRounds && this.bookingWanted; i++) {
      this.bookingWanted = false;
      let round;
      do {
        round = await s.bookings.bookPending();
        booked += round.booked;
      } while (round.more);
    }
    return booked;
  }

  /**
   * Fire and delivery jobs due at the clock's time (a retry goes back with its delay, like the worker does), and
   * the fire loop's rounds for the armed windows whose start has come (as the daemon's loop would).
   */
  async runFires(): Promise<void> {
    const s = this.attached();
    for (const j of this.due(this.fires)) await this.runDelivery(this.fires, j, () => s.fires.fire(j.data));
    while ((await s.fires.fireArmed()) > 0);
    for (const j of this.due(this.deliveries)) await this.runDelivery(this.deliveries, j, () => s.fires.deliver(j.data));
  }

  /** Withdrawal jobs: one that throws stays for a retry (as BullMQ's attempts do). */
  async runWithdrawals(): Promise<void> {
    const s = this.attached();
    for (const j of this.due(this.withdrawals)) await this.runOnce(this.withdrawals, j, () => s.remediations.withdrawEvent(j.data));
  }

  async runNotices(): Promise<void> {
    const s = this.attached();
    for (const j of this.due(this.upcoming)) await this.runOnce(this.upcoming, j, () => s.notices.upcoming(j.data));
    for (const j of this.due(this.windowEnds)) await this.runOnce(this.windowEnds, j, () => s.notices.ended(j.data));
  }

  /** Calendar syncs asked for so far (each owner once per call). */
  async runSyncs(): Promise<void> {
    const s = this.attached();
    const owners = [...new Set(this.syncRequests.splice(0))];
    for (const owner of owners) await s.watch.syncOwner(owner);
  }

  /** Every kind of job due now, until nothing more is due. */
  async runDue(maxRounds = 10): Promise<void> {
    for (let i = 0; i < maxRounds; i++) {
      const before = this.pendingWork();
      await this.runBookings();
      await this.runWithdrawals();
      await this.runNotices();
      await this.runFires();
      await this.runSyncs();
      if (this.pendingWork() === 0 || this.pendingWork() === before) return;
    }
  }

  /** Jobs of one kind that have not run to the end. */
  openJobs<T>(jobs: Map<string, FakeJob<T>>): Array<FakeJob<T>> {
    return [...jobs.values()];
  }

  // ─── internals ──────────────────────────────────────────────────────────────────────────────────────────────

  private pendingWork(): number {
    const now = this.clock.now();
    const due = (m: Map<string, FakeJob<unknown>>) => [...m.values()].filter((j) => j.dueAt <= now).length;
    return (
      (this.bookingWanted ? 1 : 0) +
      this.syncRequests.length +
      due(this.fires as Map<string, FakeJob<unknown>>) +
      due(this.deliveries as Map<string, FakeJob<unknown>>) +
      due(this.withdrawals as Map<string, FakeJob<unknown>>) +
      due(this.upcoming as Map<string, FakeJob<unknown>>) +
      due(this.windowEnds as Map<string, FakeJob<unknown>>)
    );
  }

  private attached(): Services {
    if (!this.services) throw new Error('FakeJobScheduler: attach(services) first');
    return this.services;
  }

  private due<T>(jobs: Map<string, FakeJob<T>>): Array<FakeJob<T>> {
    const now = this.clock.now();
    return [...jobs.values()].filter((j) => j.dueAt <= now).sort((a, b) => a.dueAt - b.dueAt);
  }

  private async runDelivery<T>(jobs: Map<string, FakeJob<T>>, j: FakeJob<T>, run: () => Promise<DeliveryOutcome>): Promise<void> {
    let outcome: DeliveryOutcome;
    try {
      outcome = await run();
    } catch (err) {
      j.failures++;
      j.lastError = (err as Error).message;
      return;
    }
    this.outcomes.push({ job: j.id, outcome });
    if (outcome.kind === 'retry') {
      j.dueAt = this.clock.now() + outcome.delayMs;
      // As the worker does: what the job has done so far goes with it.
      if (outcome.data) j.data = { ...j.data, ...outcome.data };
    } else jobs.delete(j.id);
  }

  private async runOnce<T>(jobs: Map<string, FakeJob<T>>, j: FakeJob<T>, run: () => Promise<void>): Promise<void> {
    try {
      await run();
      jobs.delete(j.id);
    } catch (err) {
      j.failures++;
      j.lastError = (err as Error).message;
    }
  }

  private record(method: string, detail?: unknown): void {
    this.journal.push({ kind: 'job', method, detail });
  }
}

function job<T>(id: string, data: T, dueAt: number): FakeJob<T> {
  return { id, data, dueAt, failures: 0 };
}
