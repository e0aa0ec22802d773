import { DateTime } from 'luxon';
import { resolutionPayload, type Remediation } from '../domain/remediation';
import { groupByWebhookUrl } from '../domain/maintenance-resolution';
import { DeliveryService, partsOf, type DeliveryOutcome, type DeliveryRef, type DeliverySettings, type RedeliverResult } from './delivery-service';
import type { Actor } from '../domain/lifecycle-event';
import type { Happening } from '../domain/remediation-lifecycle';
import type { ServiceDeps } from './ports';
import type { FleetSyncService } from './fleet-sync-service';
import type { RescheduleService } from './reschedule-service';
import type { TransitionRunner } from './transition-runner';
import { FIRE_BATCH, FireBurst } from './fire-burst';

/**
 * A fire job runs this long before the window's start: it takes its last look at the event (at most
 * PRE_FIRE_CHECK_MS, so a slow Google cannot make the webhook late), then waits for the start.
 */
export const FIRE_LOOK_AHEAD_MS = 1000;
/**
 * Windows starting together look earlier: the n-th booked at a start looks n × this sooner (at most
 * MAX_LOOK_AHEAD_MS), so 2,000 windows at 09:00 are looked at over the 11 s before it, not all in its last second.
 */
export const LOOK_SPREAD_MS = 5;
export const MAX_LOOK_AHEAD_MS = 60_000;
const PRE_FIRE_CHECK_MS = 600;

/** When the fire job of a window booked as the `rank`-th at its start takes its last look: ms before the start. */
export function lookAheadMs(rank: number): number {
  return Math.min(MAX_LOOK_AHEAD_MS, FIRE_LOOK_AHEAD_MS + Math.max(0, rank) * LOOK_SPREAD_MS);
}

/**
 * An armed window's job comes back this long after the start: if no fire loop has claimed the window by then (no
 * daemon running it, Redis away), the job fires it itself.
 */
const ARMED_FALLBACK_MS = 2000;
/** A firing remediation without a live delivery job this long after its start is stranded (see recoverStranded). */
const STRANDED_AFTER_MS = 30_000;
/** A job this much ahead of its window (a clock change) goes back to wait rather than hold a worker. */
const MAX_EARLY_MS = MAX_LOOK_AHEAD_MS + 5000;

function rejectAfter(ms: number, message: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(message)), ms).unref());
}

export interface StartOptions {
  /** The window as it happens, when it is not the booked one (an admin's fire-now). */
  window?: (r: Remediation) => { start: string; end: string };
  /** Under the lock, before the start is stored (with the remediation as it was): e.g. the event's withdrawal. */
  before?: (r: Remediation) => Promise<void>;
}

/**
 * A waiting job shorter than this sleeps in its worker slot; a longer one goes back to BullMQ's delayed set until
 * the start, so a burst of windows starting in the same second does not wait for worker slots held by sleepers.
 */
const HOLD_SLOT_MAX_MS = 25;

/** Identifies one window to fire: a booking of a remediation at a start time. */
export interface FireRequest {
  remediationId: string;
  bookingNumber: number;
  start: string;
  /** How long before the start its last look was planned (lookAheadMs: later in a burst, earlier). */
  lookAheadMs?: number;
  /** Set once the last look (calendar, Fleet) was taken and the job went back to wait for the start. */
  looked?: boolean;
  /** Fleet's last look found the host offline: asked again at the start. */
  offline?: boolean;
  /** Delivery 1 has its send slot (WEBHOOK_MAX_PER_SECOND): see DeliveryRef.paced. */
  paced?: boolean;
  /**
   * Looked and armed: the fire loop claims the window at its start with the others starting then; this job only
   * comes back ARMED_FALLBACK_MS after the start, and fires the window only if it is still booked.
   */
  armed?: boolean;
}

/**
 * Fires a maintenance window at its start: fixes Fleet's resolution payload (every policy of the host still
 * failing) as delivery 1 and delivers it (see DeliveryService). A window fires once: only the job for the
 * remediation's current booking and start may claim it, and the claim (booked → firing) happens under the
 * owner's lock. The window has passed once it fires: the owner is handed over to their next host right away,
 * whatever becomes of the delivery.
 */
export class FireService {
  private readonly delivery: DeliveryService;
  /** The fire loop's rounds: armed windows claimed together at their start. */
  private readonly burst: FireBurst;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly runner: TransitionRunner,
    private readonly reschedule: RescheduleService,
    settings: DeliverySettings = {},
    /** Fleet's check before firing (FLEET_URL set): policies that pass leave, an offline host may wait. */
    private readonly fleet?: FleetSyncService,
  ) {
    this.delivery = new DeliveryService(deps, runner, settings);
    this.burst = new FireBurst(deps, runner, this.delivery, {
      startHappening: (cur, actor, opts, attempting, at) => this.startHappening(cur, actor, opts, attempting, at),
    });
  }

  /** The job at the window's start; a re-run (retry, stalled job after a crash) continues delivery 1. */
  async fire(req: FireRequest): Promise<DeliveryOutcome> {
    const { logger, clock } = this.deps;
    const early = Date.parse(req.start) - clock.now();
    if (early > MAX_EARLY_MS) return { kind: 'retry', delayMs: early - FIRE_LOOK_AHEAD_MS };
    if (req.armed) return this.fireUnclaimed(req);
    let offline = req.offline === true;
    if (!req.looked) {
      // Fleet's results are read while the event is (one host-details read, at most PRE_FIRE_FLEET_MS).
      const current = this.fleet ? await this.deps.store.get(req.remediationId) : null;
      const isCurrent = current?.status === 'booked' && current.start === req.start && current.bookingNumber === req.bookingNumber;
      const fleetLook = isCurrent && this.fleet ? this.fleet.readBeforeFiring(current.host.id) : null;
      if (!(await this.stillThere(req))) return { kind: 'skipped', why: 'the window changed' };
      // Before the start: a policy Fleet reports passing leaves while the event can still be withdrawn.
      const fleet = fleetLook && this.fleet ? await this.fleet.beforeFiring(req.remediationId, await fleetLook) : null;
      if (fleet?.kind === 'skip') return { kind: 'skipped', why: fleet.why };
      offline = fleet?.kind === 'fire' && fleet.offline;
      const untilStart = Date.parse(req.start) - clock.now();
      if (untilStart > HOLD_SLOT_MAX_MS && !offline && !this.deps.pacer) {
        // Looked: the fire loop claims it at the start with every window starting then (see claimArmed). Its
        // window.ended notice is scheduled now, ahead of the burst (a window that moves meanwhile gets its own).
        const looked = await this.deps.store.get(req.remediationId);
        if (!looked || looked.status !== 'booked' || looked.start !== req.start || looked.bookingNumber !== req.bookingNumber) {
          return { kind: 'skipped', why: 'the window changed' };
        }
        await this.deps.scheduler.scheduleWindowEnd(looked);
        await this.deps.store.armWindow({ remediationId: req.remediationId, bookingNumber: req.bookingNumber, start: req.start });
        return { kind: 'retry', delayMs: untilStart + ARMED_FALLBACK_MS, data: { looked: true, armed: true } };
      }
      // Looked: the job waits for the start in the delayed set, not in a worker slot.
      if (untilStart > HOLD_SLOT_MAX_MS) return { kind: 'retry', delayMs: untilStart, data: { looked: true, offline } };
    }
    const wait = Date.parse(req.start) - clock.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (offline && this.fleet) {
      const verdict = await this.fleet.offlineAtStart(req.remediationId);
      if (verdict.kind === 'skip') return { kind: 'skipped', why: verdict.why };
      // Waiting for the host: the next run looks again (Fleet may see it online by then).
      if (verdict.kind === 'wait') return { kind: 'retry', delayMs: verdict.delayMs, data: { looked: false, offline: false } };
    }
    const claimed = await this.claim(req);
    if (!claimed) {
      logger.debug({ remediation: req.remediationId, start: req.start }, 'fire skipped: window no longer current');
      return { kind: 'skipped', why: 'window no longer current' };
    }
    return this.delivery.attempt({ remediationId: claimed.id, deliveryNumber: 1, paced: req.paced });
  }

  /**
   * One round of the fire loop, to its end: see claimArmed. Returns how many windows were taken.
   */
  async fireArmed(limit = FIRE_BATCH): Promise<number> {
    const round = await this.claimArmed(limit);
    await round.sending;
    return round.taken;
  }

  /** One round of the fire loop: see FireBurst.claimArmed. */
  claimArmed(limit = FIRE_BATCH): Promise<{ taken: number; sending: Promise<void> }> {
    return this.burst.claimArmed(limit);
  }

  /**
   * An armed window's job, after the start: the fire loop has normally claimed the window by now (then there is
   * nothing to do); one still booked at that start is fired here, late rather than never.
   */
  private async fireUnclaimed(req: FireRequest): Promise<DeliveryOutcome> {
    const r = await this.deps.store.get(req.remediationId);
    if (!r || r.status !== 'booked' || r.bookingNumber !== req.bookingNumber || r.start !== req.start) {
      return { kind: 'skipped', why: 'claimed by the fire loop, or no longer current' };
    }
    this.deps.logger.warn({ remediation: r.id, start: r.start }, 'armed window not claimed by a fire loop: its job fires it');
    const started = await this.start(req.remediationId, 'system', (cur) => cur.status === 'booked' && cur.bookingNumber === req.bookingNumber && cur.start === req.start);
    if (!started) return { kind: 'skipped', why: 'window no longer current' };
    return this.delivery.attempt({ remediationId: started.id, deliveryNumber: 1 });
  }

  /**
   * The window's job (fire or deliver) has failed its last attempt: the remediation must not stay `booked` or
   * `firing` with nothing left to move it. A window that was never claimed is claimed now (its payload fixed, the
   * owner handed over), then the delivery is given up: `delivery_failed`, ready for a redelivery.
   */
  async abandon(job: { name: string; data: FireRequest | DeliveryRef }, error: string): Promise<void> {
    if (job.name === 'deliver') {
      await this.delivery.giveUp(job.data as DeliveryRef, error);
      return;
    }
    const req = job.data as FireRequest;
    const claimed = await this.claim(req);
    if (claimed) await this.delivery.giveUp({ remediationId: claimed.id, deliveryNumber: 1 }, error);
  }

  /**
   * The sweep for deliveries left without a job: one that failed for good while Redis was away (so abandon could
   * not record it), or was removed by hand. Each such `firing` remediation ends `delivery_failed`, ready for a
   * redelivery. Returns how many.
   */
  async recoverStranded(): Promise<number> {
    const { store, scheduler, clock, logger } = this.deps;
    let recovered = 0;
    for (const r of await store.allFiring()) {
      // Just started: its job may be added a moment after the start was stored (an admin's fire-now).
      if (clock.now() - Date.parse(r.firedAt ?? r.updatedAt) < STRANDED_AFTER_MS) continue;
      if (await scheduler.deliveryJobLive(r)) continue;
      const ref = { remediationId: r.id, deliveryNumber: r.delivery?.number ?? 1 };
      const d = r.delivery;
      if (d && (d.attempts === 0 || (d.lastStatus === undefined && d.lastError === undefined))) {
        // Never attempted (its job was never added: a daemon died right after the start), or its only attempts were
        // cut short with no answer recorded (a daemon died while the fire loop was sending it): deliver it now.
        await scheduler.enqueueDelivery(ref);
        logger.warn({ remediation: r.id, webhookId: d.webhookId, attempts: d.attempts }, 'firing remediation had no delivery job: delivering it now');
        recovered++;
        continue;
      }
      if (await this.delivery.giveUp(ref, 'its delivery job ended without finishing it (see the daemon logs)')) recovered++;
    }
    return recovered;
  }

  /** Delivery of a window started outside its fire job (an admin's fire-now): its own job, like a redelivery. */
  async deliverStarted(r: Remediation): Promise<void> {
    await this.deps.scheduler.enqueueDelivery({ remediationId: r.id, deliveryNumber: r.delivery?.number ?? 1 });
  }

  /** One attempt of a redelivery's job. */
  deliver(ref: DeliveryRef): Promise<DeliveryOutcome> {
    return this.delivery.attempt(ref);
  }

  /** Same payload, new delivery (new webhook-id); see DeliveryService.redeliver. */
  redeliver(id: string): Promise<RedeliverResult> {
    return this.delivery.redeliver(id);
  }

  /**
   * One read of the event right before firing: if the owner moved or deleted it and the notification was lost,
   * the change is applied now (follow or rebook) instead of firing at a time the owner gave up.
   */
  private async stillThere(req: FireRequest): Promise<boolean> {
    const { store, calendar, logger } = this.deps;
    const r = await store.get(req.remediationId);
    if (!r || r.status !== 'booked' || r.start !== req.start || r.bookingNumber !== req.bookingNumber) return true; // claim decides
    if (!r.email || !r.calendarEventId) return true;
    let observed;
    try {
      // The webhook is due now: one quick look (a token fetch included), else fire on what we know.
      const look = calendar.getEvent(r.email, r.calendarEventId, { timeoutMs: PRE_FIRE_CHECK_MS });
      look.catch(() => undefined);
      observed = await Promise.race([look, rejectAfter(PRE_FIRE_CHECK_MS + 200, 'no answer in time')]);
    } catch (err) {
      // Google unreachable at the start: fire on what we know rather than miss the window.
      logger.warn({ remediation: r.id, owner: r.email, err: (err as Error).message }, 'could not re-read the event before firing');
      return true;
    }
    const verdict = await this.reschedule.apply(r, observed);
    if (verdict.kind === 'unchanged') return true;
    logger.info({ remediation: r.id, owner: r.email, verdict: verdict.kind }, 'the window changed before its start: not firing now');
    return false;
  }

  /**
   * booked → firing for the current booking only, with delivery 1 (the payload fixed now) and the owner handed
   * over; a re-run of the same job finds it already firing and continues.
   */
  private async claim(req: FireRequest): Promise<Remediation | null> {
    let continuing: Remediation | null = null;
    const started = await this.start(req.remediationId, 'system', (cur) => {
      if (cur.bookingNumber !== req.bookingNumber || cur.start !== req.start) return false;
      if (cur.status === 'firing' && cur.delivery?.number === 1) continuing = cur;
      return cur.status === 'booked';
    });
    return started ?? continuing;
  }

  /**
   * Maintenance policies: when the host's policies do not all go to RESOLUTION_WEBHOOK_URL, one part per URL, each
   * Fleet's exact payload listing its own policies (groupByWebhookUrl). Null: the one usual request.
   */
  private webhookParts(r: Remediation, timestamp: string): Array<{ url: string; body: string }> | null {
    const { settings } = this.deps;
    const config = settings.maintenance?.();
    const defaultUrl = settings.resolutionWebhookUrl;
    if (!config || !defaultUrl) return null;
    const groups = groupByWebhookUrl(config, r.host.teamId, r.policies, defaultUrl);
    if (groups.length === 0 || (groups.length === 1 && groups[0].url === defaultUrl)) return null;
    return groups.map((g) => ({ url: g.url, body: JSON.stringify(resolutionPayload({ ...r, policies: g.policies }, timestamp)) }));
  }

  /**
   * The window starts now: booked → firing (window.started) with delivery 1, whose payload is fixed at this
   * instant; the window's end is announced later (window.ended). `current` says whether this is still the window
   * the caller means. Returns the firing remediation, or null when nothing started.
   */
  async start(id: string, actor: Actor, current: (r: Remediation) => boolean, opts: StartOptions = {}): Promise<Remediation | null> {
    const { scheduler } = this.deps;
    const applied = await this.runner.apply(id, (cur) => (current(cur) ? this.startHappening(cur, actor, opts, false) : null), {
      before: async (t, cur) => {
        if (opts.before && cur) await opts.before(cur);
        await scheduler.scheduleWindowEnd(t.remediation);
      },
    });
    if (applied.kind !== 'applied') return null;
    await scheduler.requestChannelMaintenance();
    return applied.after;
  }

  /**
   * The window starts now (or at `at`: claimed just ahead of its start): delivery 1 with the payload fixed at that
   * instant (its first attempt too, if `attempting`).
   */
  private startHappening(cur: Remediation, actor: Actor, opts: StartOptions, attempting: boolean, at?: number): Happening {
    const firedAt = at ?? this.deps.clock.now();
    const payload = resolutionPayload(cur, DateTime.fromMillis(firedAt, { zone: cur.timeZone ?? 'UTC' }).toISO() as string);
    const window = opts.window?.(cur);
    // The delivery's budget runs to the end of the window as it happens.
    const first = this.delivery.newDelivery(window ? { ...cur, end: window.end } : cur, 1, JSON.stringify(payload));
    const parts = this.webhookParts(cur, payload.timestamp);
    const delivery = parts ? { ...first, parts: partsOf(first.webhookId, parts) } : first;
    return { type: 'window_started', delivery, actor, window, attempting };
  }
}
