import { FLEET_UNREACHABLE_PREFIX } from '../domain/remediation-lifecycle';
import { isOpen, type FailingPolicy, type Remediation } from '../domain/remediation';
import { FleetHostNotFoundError, FleetUnavailableError, type HostPolicyResults } from '../fleet/fleet-client';
import type { PolicyEvent } from '../ingest/policy-event';
import type { FleetSyncSettings, ServiceDeps } from './ports';
import type { RemediationService } from './remediation-service';
import type { TransitionRunner } from './transition-runner';

/** A host Fleet does not know (404) is not asked again for this long. */
const UNKNOWN_HOST_TTL_MS = 3_600_000;
/** Host-detail reads running at once during a sync. */
const HOST_READ_CONCURRENCY = 4;
/** Fired windows followed up per sync (the rest wait for the next one). */
const FOLLOW_UPS_PER_SYNC = 1000;
/** The check before firing waits at most this long for Fleet: a slow Fleet cannot make the webhook late. */
export const PRE_FIRE_FLEET_MS = 700;

/** What Fleet said about one host: its results, not known to Fleet, or not asked / no answer (with why). */
type HostAnswer = { kind: 'results'; results: HostPolicyResults } | { kind: 'unknown_host' } | { kind: 'error'; error: Error };

/** What a sync did: Fleet requests made, and what changed. */
export interface FleetSyncRound {
  /** Open remediations and fired windows due for their follow-up that were checked. */
  checked: number;
  /** Fleet requests made: list pages + host-detail reads. */
  requests: number;
  listPages: number;
  hostReads: number;
  /** Policies that Fleet reported passing and left their remediation. */
  passed: number;
  resolved: number;
  /** New remediations opened for policies still failing after a fired window. */
  rebooked: number;
  /** Remediations whose check could not be made (Fleet down, 5xx, 429): unchanged, with the reason. */
  unreachable: number;
}

/** What the check just before a window's start says. */
export type FireVerdict =
  | { kind: 'fire' }
  /** Every policy passes (resolved) or the window is no longer current: nothing to fire. */
  | { kind: 'skip'; why: string }
  /** FLEET_REQUIRE_ONLINE and the host is offline: look again in `delayMs`. */
  | { kind: 'wait'; delayMs: number };

/**
 * Fleet stays the source of truth: Fleet's failing-policies webhook only ever says "fails", so every open remediation
 * of a host Fleet knows is re-checked every FLEET_SYNC_INTERVAL_SECONDS and once more right before its window fires.
 *
 * Cost: per sync, the open remediations are grouped by policy and each policy's FAILING hosts are listed (one paged
 * call, FLEET_PAGE_SIZE hosts a page). A host that is on the list still fails; only a host missing from it needs a
 * host-details read (its `policies[].response`: "pass", "fail", or "" = not run yet, which is NOT a pass). A policy
 * with no more tracked hosts than the pages its list took last time is not listed: its hosts are read instead
 * (never more requests than reading every host). Every status change is the lifecycle's decision (`decide`).
 */
export class FleetSyncService {
  /** Pages each policy's failing list took last time (to choose list or host reads). */
  private readonly lastPages = new Map<number, number>();
  /** Hosts Fleet answered 404 for, until when they are left out (remediations of hosts Fleet does not know). */
  private readonly unknownHosts = new Map<number, number>();
  private indexed = false;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly runner: TransitionRunner,
    private readonly remediations: RemediationService,
  ) {}

  private get settings(): FleetSyncSettings {
    return this.deps.settings.fleetSync ?? { requireOnline: false, rebookAfterFireMs: 3_600_000 };
  }

  /** One sync: every open remediation and every fired window due for its follow-up. */
  async sync(): Promise<FleetSyncRound> {
    const { store, fleet, clock, logger } = this.deps;
    const round: FleetSyncRound = { checked: 0, requests: 0, listPages: 0, hostReads: 0, passed: 0, resolved: 0, rebooked: 0, unreachable: 0 };
    if (!fleet) return round;
    if (!this.indexed) {
      const added = await store.indexOpenRemediations();
      if (added > 0) logger.info({ added }, 'Fleet sync: open remediations stored before this version indexed');
      this.indexed = true;
    }
    const now = clock.now();
    const known = (r: Remediation) => !((this.unknownHosts.get(r.host.id) ?? 0) > now);
    const open = (await store.getMany(await store.openIds())).filter((r) => isOpen(r) && r.policies.length > 0 && known(r));
    const fired = (await store.firedUnchecked(now - this.settings.rebookAfterFireMs, FOLLOW_UPS_PER_SYNC)).filter(known);
    const tracked = [...open, ...fired];
    round.checked = tracked.length;
    if (tracked.length === 0) return round;

    // 1. Each policy's failing hosts, one paged list per policy (unless reading its few hosts costs less).
    const hostsByPolicy = new Map<number, Set<number>>();
    for (const r of tracked) for (const p of r.policies) (hostsByPolicy.get(p.id) ?? hostsByPolicy.set(p.id, new Set()).get(p.id)!).add(r.host.id);
    const failing = new Map<number, Set<number>>();
    let listError: Error | null = null;
    for (const [policyId, hosts] of [...hostsByPolicy].sort(([a], [b]) => a - b)) {
      if (hosts.size <= (this.lastPages.get(policyId) ?? 1)) continue;
      try {
        const list = await fleet.failingHosts(policyId);
        round.listPages += list.pages;
        this.lastPages.set(policyId, list.pages);
        failing.set(policyId, list.hostIds);
      } catch (err) {
        // A page failed: it was a request all the same (unless the rate limit kept it from leaving).
        if (!/not asked/.test((err as Error).message)) round.listPages++;
        listError = err as Error;
        break;
      }
    }
    if (listError) {
      round.requests = round.listPages;
      round.unreachable = await this.noteUnreachable(open, listError);
      logger.warn({ err: listError.message, remediations: tracked.length }, 'Fleet sync: Fleet could not be asked; nothing changes until it answers');
      return round;
    }

    // 2. Host details only for hosts that left a policy's failing list (or whose policy was not listed).
    const toRead = new Set<number>();
    for (const r of tracked) for (const p of r.policies) if (!failing.get(p.id)?.has(r.host.id)) toRead.add(r.host.id);
    const answers = await this.readHosts([...toRead], round);
    round.requests = round.listPages + round.hostReads;

    // 3. What Fleet says, through the lifecycle.
    for (const r of open) await this.applyToOpen(r, failing, answers, round);
    for (const r of fired) await this.followUp(r, failing, answers, round);
    logger.info({ ...round }, 'Fleet sync done');
    return round;
  }

  /** Host-detail reads, a few at a time; after a 429 or an outage the rest are not asked (they are "error"). */
  private async readHosts(hostIds: number[], round: FleetSyncRound): Promise<Map<number, HostAnswer>> {
    const { fleet } = this.deps;
    const answers = new Map<number, HostAnswer>();
    let stop: Error | null = null;
    const queue = [...hostIds];
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        if (stop) {
          answers.set(id, { kind: 'error', error: stop });
          continue;
        }
        round.hostReads++;
        try {
          answers.set(id, { kind: 'results', results: await fleet!.hostPolicies(id) });
        } catch (err) {
          if (err instanceof FleetHostNotFoundError) {
            answers.set(id, { kind: 'unknown_host' });
            this.unknownHosts.set(id, this.deps.clock.now() + UNKNOWN_HOST_TTL_MS);
          }
          else {
            answers.set(id, { kind: 'error', error: err as Error });
            if (err instanceof FleetUnavailableError) stop = err;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(HOST_READ_CONCURRENCY, hostIds.length) }, worker));
    return answers;
  }

  /** Policies Fleet reports passing leave the remediation (actor fleet); a failed read leaves it as it is. */
  private async applyToOpen(r: Remediation, failing: Map<number, Set<number>>, answers: Map<number, HostAnswer>, round: FleetSyncRound): Promise<void> {
    const answer = answers.get(r.host.id);
    if (answer?.kind === 'error') {
      round.unreachable += await this.noteUnreachable([r], answer.error);
      return;
    }
    if (r.reason?.startsWith(FLEET_UNREACHABLE_PREFIX)) await this.runner.apply(r.id, (cur) => (isOpen(cur) ? { type: 'fleet_reachable' } : null));
    if (answer?.kind !== 'results') return;
    const passing = r.policies.filter((p) => !failing.get(p.id)?.has(r.host.id) && answer.results.policies.get(p.id) === 'pass');
    for (const p of passing) {
      const after = await this.remediations.passPolicy(r.id, p.id, 'fleet');
      if (!after) continue;
      round.passed++;
      if (after.status === 'resolved') round.resolved++;
    }
  }

  /**
   * REBOOK_AFTER_FIRE_MINUTES after a fired window's end: each of its policies Fleet still reports failing opens
   * the host's next remediation (`remediation.created`, actor fleet; booked on the next allowed day). Done once;
   * when Fleet cannot tell, the next sync asks again.
   */
  private async followUp(r: Remediation, failing: Map<number, Set<number>>, answers: Map<number, HostAnswer>, round: FleetSyncRound): Promise<void> {
    const answer = answers.get(r.host.id);
    if (answer?.kind === 'error') return;
    const stillFailing = r.policies.filter(
      (p) => failing.get(p.id)?.has(r.host.id) || (answer?.kind === 'results' && answer.results.policies.get(p.id) === 'fail'),
    );
    const now = this.deps.clock.now();
    for (const p of stillFailing) await this.remediations.handle(this.failingAgain(r, p, now));
    const applied = await this.runner.apply(r.id, { type: 'fleet_followed_up', stillFailing: stillFailing.map((p) => p.id) });
    if (stillFailing.length > 0 && applied.kind === 'applied') {
      round.rebooked++;
      this.deps.logger.info(
        { remediation: r.id, host: r.host.id, owner: r.email, policies: stillFailing.map((p) => p.id) },
        'still failing after its window: a new remediation is booked',
      );
    }
  }

  /** A policy still failing after a fired window, as the event that opens the host's next remediation. */
  private failingAgain(r: Remediation, p: FailingPolicy, now: number): PolicyEvent {
    return {
      type: 'policy_failing',
      host: {
        id: r.host.id,
        display_name: r.host.displayName,
        serial_number: r.host.serialNumber,
        team_id: r.host.teamId,
        ...(r.email ? { emails: [r.email] } : {}),
      },
      policy: { id: p.id, name: p.name, description: p.description ?? undefined, resolution: p.resolution ?? undefined },
      occurred_at: new Date(now).toISOString(),
      source: 'fleet',
    } as PolicyEvent;
  }

  /** Fleet could not be asked: no status changes; each remediation's reason says so (once per outage). */
  private async noteUnreachable(remediations: Remediation[], err: Error): Promise<number> {
    const reason = `${FLEET_UNREACHABLE_PREFIX} (${err.message}): policy results as last known; the next sync catches up`;
    let noted = 0;
    for (const r of remediations) {
      const applied = await this.runner.apply(r.id, (cur) => (isOpen(cur) ? { type: 'fleet_unreachable', reason } : null));
      if (applied.kind === 'applied' || applied.kind === 'unchanged') noted++;
    }
    return noted;
  }

  /** The check before firing, part 1: one host-details read, started early, at most PRE_FIRE_FLEET_MS. */
  readBeforeFiring(hostId: number): Promise<HostAnswer> {
    const { fleet } = this.deps;
    if (!fleet) return Promise.resolve({ kind: 'unknown_host' });
    const read = fleet.hostPolicies(hostId).then(
      (results): HostAnswer => ({ kind: 'results', results }),
      (err: Error): HostAnswer => (err instanceof FleetHostNotFoundError ? { kind: 'unknown_host' } : { kind: 'error', error: err }),
    );
    const late = new Promise<HostAnswer>((resolve) =>
      setTimeout(() => resolve({ kind: 'error', error: new Error(`no answer within ${PRE_FIRE_FLEET_MS} ms`) }), PRE_FIRE_FLEET_MS).unref(),
    );
    return Promise.race([read, late]);
  }

  /**
   * The check before firing, part 2, before the start (the event is still in the future, so it can be withdrawn):
   * the policies Fleet reports passing leave; none left → resolved, no webhook. Fleet unreachable: fire with the
   * policies last known failing. `offline`: the host is not online (what to do is decided at the start).
   */
  async beforeFiring(id: string, answer: HostAnswer): Promise<{ kind: 'fire'; offline: boolean } | { kind: 'skip'; why: string }> {
    const { store, logger } = this.deps;
    const r = await store.get(id);
    if (!r || r.status !== 'booked') return { kind: 'fire', offline: false }; // the claim decides
    if (answer.kind === 'error') {
      logger.warn({ remediation: r.id, host: r.host.id, err: answer.error.message }, 'Fleet not reachable before firing: firing with the policies last known failing');
      await this.noteUnreachable([r], answer.error);
      return { kind: 'fire', offline: false };
    }
    if (answer.kind === 'unknown_host') return { kind: 'fire', offline: false };
    if (r.reason?.startsWith(FLEET_UNREACHABLE_PREFIX)) await this.runner.apply(r.id, (cur) => (isOpen(cur) ? { type: 'fleet_reachable' } : null));
    for (const p of r.policies.filter((x) => answer.results.policies.get(x.id) === 'pass')) {
      const after = await this.remediations.passPolicy(r.id, p.id, 'fleet');
      if (after?.status === 'resolved') return { kind: 'skip', why: 'every policy passes in Fleet: resolved' };
    }
    return { kind: 'fire', offline: this.settings.requireOnline && answer.results.status !== 'online' };
  }

  /**
   * The check before firing, part 3, at the start, FLEET_REQUIRE_ONLINE and the host offline: the window waits for
   * it (looked at again every minute) until its end; still offline then → rebooked on the next allowed day
   * ("host offline").
   */
  async offlineAtStart(id: string): Promise<FireVerdict> {
    const { store, clock, logger, scheduler } = this.deps;
    const r = await store.get(id);
    if (!r || r.status !== 'booked') return { kind: 'fire' }; // the claim decides
    const now = clock.now();
    const end = Date.parse(r.end ?? '');
    if (now < end) {
      await this.runner.apply(r.id, (cur) => (cur.status === 'booked' && cur.start === r.start ? { type: 'host_offline', until: r.end as string } : null));
      logger.info({ remediation: r.id, host: r.host.id, owner: r.email }, 'host offline at its window: waiting for it (FLEET_REQUIRE_ONLINE)');
      return { kind: 'wait', delayMs: Math.max(1000, Math.min(60_000, end - now)) };
    }
    const applied = await this.runner.apply(r.id, (cur) => (cur.status === 'booked' && cur.start === r.start ? { type: 'host_offline_rebook' } : null));
    if (applied.kind === 'applied') {
      logger.info({ remediation: r.id, host: r.host.id, owner: r.email }, 'host offline through its window: rebooked on the next allowed day');
      await scheduler.requestBooking();
      await scheduler.requestChannelMaintenance();
    }
    return { kind: 'skip', why: 'host offline through the window: rebooked' };
  }
}
