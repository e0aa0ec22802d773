import { DelayedError, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { policyEventSchema, describeIssue } from '../ingest/policy-event';
import type { Logger } from '../lib/logger';
import type { Services } from '../services/create-services';
import type { DeliveryRef } from '../services/delivery-service';
import type { FireRequest } from '../services/fire-service';
import type { LifecycleDelivery } from '../services/lifecycle-webhook-service';
import type { EventWithdrawal } from '../services/ports';
import type { WindowNotice } from '../services/window-notice-service';
import { cappedExponentialDelay, QUEUE } from './queue-names';
import { FireLoop } from './fire-loop';
import { WindowTimerLoop } from './window-timer-loop';
import { RoundCoalescer } from './round-coalescer';

/** How often a worker checks for jobs whose worker died, and how long a job lock lasts without renewal. */
const STALLED_CHECK_MS = 15_000;
const LOCK_MS = 15_000;
/** How many times one job may be recovered from a dead worker before it is failed. */
const MAX_STALLED = 10;

export type WorkerServices = Pick<Services, 'remediations' | 'bookings' | 'fires' | 'watch' | 'notices' | 'lifecycle' | 'fleet'>;

/**
 * Fire and delivery jobs in flight per daemon: mostly waiting on I/O (the last look, Redis, the receiver), and a
 * burst of windows starting in the same second is claimed in rounds of this many.
 */
const FIRE_CONCURRENCY = 64;

/** How often a fire/delivery job may be taken over from a dead worker before BullMQ fails it. */
const FIRE_MAX_STALLED = 20;

/** BullMQ workers: they only unpack jobs and call the services. */
export class Workers {
  private readonly workers: Worker[];
  /** Armed windows claimed together at their start (see FireLoop). */
  private readonly fireLoop: FireLoop;
  /** Which channel-maintenance requests a round has already answered. */
  private readonly channelRounds = new RoundCoalescer();
  /** Far-off window jobs added as they come due (see WindowTimers). */
  private readonly timerLoop: WindowTimerLoop;

  constructor(
    connection: ConnectionOptions,
    prefix: string,
    services: WorkerServices,
    private readonly logger: Logger,
    private readonly scheduler: { promoteDueTimers(limit: number): Promise<number>; channelRoundStarting(): Promise<void> },
  ) {
    // A job whose daemon was killed is taken up again by another worker after at most ~2 × STALLED_CHECK_MS, and
    // may be recovered many times (BullMQ's default is once): a policy event must never be lost to two crashes.
    const common = { connection, prefix, autorun: false, maxStalledCount: MAX_STALLED, lockDuration: LOCK_MS, stalledInterval: STALLED_CHECK_MS };
    this.fireLoop = new FireLoop(services.fires, logger);
    this.timerLoop = new WindowTimerLoop(scheduler, logger);
    this.workers = [
      new Worker(QUEUE.policyEvents, (job) => this.policyEvent(services, job), {
        ...common,
        concurrency: 8,
        settings: { backoffStrategy: (attemptsMade: number) => cappedExponentialDelay(attemptsMade) },
      }),
      new Worker(QUEUE.bookings, () => this.bookPending(services), { ...common, concurrency: 1 }),
      // A daemon killed mid-delivery leaves its job stalled: another worker (or the restarted daemon) takes it
      // up again, with the same webhook-id; allow that more than BullMQ's default once.
      new Worker(QUEUE.fires, (job: Job<FireRequest | DeliveryRef>, token?: string) => this.fire(services, job, token), {
        ...common,
        concurrency: FIRE_CONCURRENCY,
        maxStalledCount: FIRE_MAX_STALLED,
      }),
      new Worker(
        QUEUE.calendarSync,
        (job: Job) => (job.name === 'withdraw-event' ? services.remediations.withdrawEvent(job.data as EventWithdrawal) : this.sync(services, job)),
        { ...common, concurrency: 8 },
      ),
      new Worker(QUEUE.calendarWatch, (job) => this.watch(services, job), { ...common, concurrency: 1 }),
      new Worker(QUEUE.lifecycle, (job: Job, token?: string) => this.lifecycle(services, job, token), { ...common, concurrency: 8 }),
      // One sync at a time (across daemons too: a sync asks Fleet for every open remediation).
      new Worker(QUEUE.fleetSync, async () => {
        const round = await services.fleet.sync();
        if (round.checked > 0) this.logger.debug({ ...round }, 'Fleet sync');
      }, { ...common, concurrency: 1 }),
    ];
    for (const w of this.workers) {
      w.on('failed', (job, err) =>
        this.logger.warn({ queue: w.name, job: job?.id, attempts: job?.attemptsMade, err: err.message }, 'job failed'),
      );
      w.on('error', (err) => this.logger.error({ queue: w.name, err: err.message }, 'worker error'));
    }
  }

  start(): void {
    for (const w of this.workers) void w.run();
    this.fireLoop.start();
    this.timerLoop.start();
  }

  get running(): boolean {
    return this.workers.every((w) => w.isRunning());
  }

  /**
   * Stops taking jobs and lets active ones finish for up to `graceMs`; past that, closes by force: the unfinished
   * jobs are handed back (stalled) and another worker, or this daemon's restart, takes them up.
   */
  async close(graceMs = 20_000): Promise<void> {
    await Promise.all([this.fireLoop.stop(), this.timerLoop.stop()]);
    let timer: NodeJS.Timeout | undefined;
    const graceful = Promise.all(this.workers.map((w) => w.close())).then(() => 'closed' as const);
    const late = new Promise<'late'>((r) => {
      timer = setTimeout(() => r('late'), graceMs);
    });
    const outcome = await Promise.race([graceful, late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      this.logger.warn({ graceMs }, 'active jobs did not finish in time: handing them back');
      await Promise.all(this.workers.map((w) => w.close(true)));
    }
  }

  private async policyEvent(services: WorkerServices, job: Job): Promise<void> {
    const parsed = policyEventSchema.safeParse(job.data);
    if (!parsed.success) {
      const { field, message } = describeIssue(parsed.error);
      this.logger.error({ job: job.id, field, message }, 'invalid policy event on the queue: dropped');
      throw new UnrecoverableError(`invalid policy event: ${field}: ${message}`);
    }
    if (job.name !== parsed.data.type) {
      throw new UnrecoverableError(`job name ${job.name} does not match event type ${parsed.data.type}`);
    }
    await services.remediations.handle(parsed.data);
  }

  private async bookPending(services: WorkerServices): Promise<void> {
    // A full batch of 50 was taken: there may be more due.
    let round;
    do round = await services.bookings.bookPending();
    while (round.more);
  }

  /**
   * `fire` at a window's start, `deliver` for a redelivery. A delivery to retry goes back to `delayed` for the
   * delay the delivery policy chose (Retry-After, backoff, budget); the job keeps its id and attempts.
   */
  private async fire(services: WorkerServices, job: Job<FireRequest | DeliveryRef>, token: string | undefined): Promise<void> {
    let outcome;
    try {
      outcome = job.name === 'deliver' ? await services.fires.deliver(job.data as DeliveryRef) : await services.fires.fire(job.data as FireRequest);
    } catch (err) {
      const attempts = job.opts.attempts ?? 1;
      if (job.attemptsMade + 1 >= attempts) {
        // The last attempt: leave the remediation in a state a person can act on (best effort: Redis may be why).
        const error = `the ${job.name} job failed ${attempts} times: ${(err as Error).message}`;
        await services.fires.abandon(job, error).catch((e: Error) => this.logger.error({ job: job.id, err: e.message }, 'could not record the abandoned job'));
      }
      throw err;
    }
    if (outcome.kind !== 'retry') return;
    if (outcome.data) await job.updateData({ ...job.data, ...outcome.data } as FireRequest | DeliveryRef);
    await job.moveToDelayed(Date.now() + outcome.delayMs, token);
    throw new DelayedError();
  }

  /** Window notices, the feed's dispatch, and lifecycle webhook attempts (retried as the delivery policy says). */
  private async lifecycle(services: WorkerServices, job: Job, token: string | undefined): Promise<void> {
    if (job.name === 'upcoming') return services.notices.upcoming(job.data as WindowNotice);
    if (job.name === 'window-end') return services.notices.ended(job.data as WindowNotice);
    if (job.name === 'dispatch') {
      const queued = await services.lifecycle.dispatch();
      if (queued > 0) this.logger.debug({ queued }, 'lifecycle webhooks queued');
      return;
    }
    if (job.name !== 'lifecycle-webhook') throw new UnrecoverableError(`unknown lifecycle job ${job.name}`);
    const outcome = await services.lifecycle.attempt(job.data as LifecycleDelivery);
    if (outcome.kind === 'delivered') return;
    if (outcome.kind === 'failed') throw new UnrecoverableError(outcome.error);
    await job.updateData(outcome.data);
    await job.moveToDelayed(Date.now() + outcome.delayMs, token);
    throw new DelayedError();
  }

  private async sync(services: WorkerServices, job: Job<{ owner: string }>): Promise<void> {
    const result = await services.watch.syncOwner(job.data.owner);
    this.logger.debug({ owner: job.data.owner, ...result }, 'calendar synced');
  }

  private async watch(services: WorkerServices, job: Job): Promise<void> {
    if (job.name !== 'watch-tick') {
      // A request already answered by a round that began after it was made ends here (see RoundCoalescer).
      if (job.name === 'maintain-channels' && !this.channelRounds.needed(job.timestamp)) return;
      await this.channelRound(services);
      return;
    }
    // The watch tick: each step runs even when one before it failed — the poll is the safety net for lost push
    // notifications and must not wait for a channel round that cannot complete. The first failure fails the job.
    const failures: Error[] = [];
    const step = async (name: string, run: () => Promise<void>) => {
      try {
        await run();
      } catch (err) {
        failures.push(err as Error);
        this.logger.error({ step: name, err: (err as Error).message }, 'watch tick: a step failed (the others ran)');
      }
    };
    await step('channel round', () => this.channelRound(services));
    await step('stranded deliveries', async () => {
      const stranded = await services.fires.recoverStranded();
      if (stranded > 0) this.logger.warn({ remediations: stranded }, 'deliveries left without a job ended as delivery_failed');
    });
    // Catches up lifecycle webhooks whose dispatch request was lost (a crash right after a commit).
    await step('lifecycle dispatch', async () => {
      await services.lifecycle.dispatch();
    });
    await step('poll', async () => {
      const due = await services.watch.pollDue();
      if (due.length > 0) this.logger.debug({ owners: due.length }, 'poll: calendars due for a sync');
    });
    if (failures.length > 0) throw failures[0];
  }

  private async channelRound(services: WorkerServices): Promise<void> {
    this.channelRounds.started(Date.now());
    await this.scheduler.channelRoundStarting();
    const round = await services.watch.maintainChannels();
    if (round.opened + round.renewed + round.stopped > 0) this.logger.info(round, 'push channels maintained');
  }
}
