import type { Remediation, RemediationStatus } from '../domain/remediation';
import { isoInZone } from '../domain/time-zone';
import type { FireService } from './fire-service';
import type { ServiceDeps } from './ports';
import type { RemediationService } from './remediation-service';
import type { TransitionRunner } from './transition-runner';

/** The reschedule's calendar patch runs under the owner's lock (30 s TTL): one attempt, bounded well below it. */
const PATCH_UNDER_LOCK_MS = 10_000;

/** An admin action's outcome: the remediation as it is now, or why not. */
export type AdminResult =
  | { kind: 'ok'; remediation: Remediation; calendar?: 'removed' | 'ended' | 'moved' | 'none' }
  | { kind: 'not_found' }
  | { kind: 'conflict'; status: RemediationStatus | null; reason: string };

/**
 * Admin actions (`POST /v1/remediations/:id/cancel | fire-now | reschedule`), each a happening for the lifecycle
 * with actor `admin`, plus what the calendar must show afterwards.
 */
export class AdminService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly runner: TransitionRunner,
    private readonly remediations: RemediationService,
    private readonly fires: FireService,
  ) {}

  /** cancelled; a future event is removed; the owner's next host is booked. */
  async cancel(id: string, reason: string): Promise<AdminResult> {
    const { clock, scheduler, logger } = this.deps;
    const applied = await this.runner.apply(id, { type: 'cancelled', reason, actor: 'admin' }, {
      before: async (_t, cur) => {
        if (cur) await this.remediations.withdrawFutureEvent(cur, clock.now());
      },
    });
    if (applied.kind === 'skipped') return { kind: 'not_found' };
    if (applied.kind === 'refused') return { kind: 'conflict', status: applied.status, reason: applied.reason };
    if (applied.kind === 'unchanged') return { kind: 'ok', remediation: applied.current };
    const removed = applied.before?.status === 'booked' && Date.parse(applied.before.start ?? '') > clock.now();
    if (applied.before?.status === 'booked') await scheduler.requestChannelMaintenance();
    logger.info({ remediation: id, host: applied.after.host.id, owner: applied.after.email, reason }, 'remediation cancelled by an admin');
    return { kind: 'ok', remediation: applied.after, calendar: removed ? 'removed' : 'none' };
  }

  /**
   * The resolution webhook now. The window is then the one happening now (its booked length from now on), and the
   * calendar tells the truth: the booked event is removed (the slot it shows will not happen).
   */
  async fireNow(id: string): Promise<AdminResult> {
    const { clock, scheduler } = this.deps;
    const current = await this.deps.store.get(id);
    if (!current) return { kind: 'not_found' };
    if (current.status !== 'booked') return { kind: 'conflict', status: current.status, reason: `a ${current.status} remediation cannot be fired now` };
    const fired = await this.fires.start(id, 'admin', (r) => r.status === 'booked', {
      window: (r) => {
        const now = clock.now();
        const zone = r.timeZone ?? 'UTC';
        return { start: isoInZone(now, zone), end: isoInZone(now + slotLengthMs(r), zone) };
      },
      before: async (before) => {
        if (before.email && before.calendarEventId) {
          await scheduler.withdrawEvent({ remediationId: before.id, owner: before.email, eventId: before.calendarEventId });
        }
      },
    });
    if (!fired) {
      const now = await this.deps.store.get(id);
      return { kind: 'conflict', status: now?.status ?? null, reason: `a ${now?.status ?? 'missing'} remediation cannot be fired now` };
    }
    await this.fires.deliverStarted(fired);
    return { kind: 'ok', remediation: (await this.deps.store.get(id)) ?? fired, calendar: 'removed' };
  }

  /** The window moves to `start` (same length): the event is patched, not re-created; freeBusy is not asked. */
  async reschedule(id: string, start: number): Promise<AdminResult> {
    const { calendar, scheduler, settings, clock, logger } = this.deps;
    if (!(start > clock.now())) return { kind: 'conflict', status: null, reason: 'start must be in the future' };
    const applied = await this.runner.apply(
      id,
      (r) => {
        const zone = r.timeZone ?? 'UTC';
        return r.status === 'booked'
          ? { type: 'window_moved', start: isoInZone(start, zone), end: isoInZone(start + slotLengthMs(r), zone), actor: 'admin', reason: 'rescheduled by an admin' }
          : { type: 'window_moved', start: '', end: '', actor: 'admin' };
      },
      {
        // Under the owner's lock, so the calendar's echo of this patch is judged against the new start.
        before: async (t) => {
          const r = t.remediation;
          if (r.email && r.calendarEventId && r.start && r.end) {
            // One bounded attempt: the owner's lock (30 s) is held while it runs.
            await calendar.updateEvent(r.email, r.calendarEventId, { start: r.start, end: r.end, timeZone: r.timeZone }, { timeoutMs: PATCH_UNDER_LOCK_MS });
          }
          await scheduler.scheduleWindow(r, settings.notifyBeforeMinutes);
        },
      },
    );
    if (applied.kind === 'skipped') return { kind: 'not_found' };
    if (applied.kind === 'refused') return { kind: 'conflict', status: applied.status, reason: applied.reason };
    const r = applied.kind === 'applied' ? applied.after : applied.current;
    if (applied.kind === 'applied') {
      await scheduler.requestChannelMaintenance();
      logger.info({ remediation: id, owner: r.email, from: applied.before?.start, to: r.start }, 'window rescheduled by an admin');
    }
    return { kind: 'ok', remediation: r, calendar: 'moved' };
  }
}

/** The booked window's length (30 minutes when unknown). */
function slotLengthMs(r: Remediation): number {
  const length = Date.parse(r.end ?? '') - Date.parse(r.start ?? '');
  return Number.isFinite(length) && length > 0 ? length : 30 * 60_000;
}
