import pino, { type Logger } from 'pino';
import { defaultSchedulingRules } from '../../config/scheduling';
import type { LifecycleEvent } from '../../src/domain/lifecycle-event';
import type { Remediation } from '../../src/domain/remediation';
import type { PolicyEvent } from '../../src/ingest/policy-event';
import type { Clock } from '../../src/lib/clock';
import { createServices, type Services } from '../../src/services/create-services';
import type { FeedCursorStore } from '../../src/services/lifecycle-webhook-service';
import type { ServiceDeps, WatchRepository } from '../../src/services/ports';
import type { AttemptResult } from '../../src/webhook/delivery-policy';
import type { ResolutionSender, WebhookMessage } from '../../src/webhook/resolution-webhook';
import { FakeCalendar } from './fake-calendar';
import { FakeJobScheduler } from './fake-job-scheduler';
import { InMemoryRemediationStore, Journal } from './in-memory-remediation-store';
import { InMemoryWatchStore } from './in-memory-watch-store';

/** Time that moves only when the test moves it. */
export class ManualClock implements Clock {
  private at: number;

  constructor(at: string | number) {
    this.at = typeof at === 'string' ? Date.parse(at) : at;
  }

  now(): number {
    return this.at;
  }

  set(at: string | number): void {
    this.at = typeof at === 'string' ? Date.parse(at) : at;
  }

  advance(ms: number): void {
    this.at += ms;
  }
}

/** The resolution webhook's receiver: records each message and answers what the test queued (default 200). */
export class FakeSender implements ResolutionSender {
  readonly url = 'https://receiver.example.test/resolution';
  readonly sent: WebhookMessage[] = [];
  private readonly answers: AttemptResult[] = [];

  private crashes = 0;

  answerNext(...results: AttemptResult[]): void {
    this.answers.push(...results);
  }

  /** The next `n` sends never come back with an answer (the daemon died while sending): they throw. */
  crashNext(n = 1): void {
    this.crashes += n;
  }

  async send(message: WebhookMessage): Promise<AttemptResult> {
    this.sent.push(message);
    if (this.crashes > 0) {
      this.crashes--;
      throw new Error('the daemon died while sending');
    }
    return this.answers.shift() ?? { kind: 'answered', status: 200 };
  }
}

class InMemoryFeedCursor implements FeedCursorStore {
  value: string | null = null;
  async cursor(): Promise<string | null> {
    return this.value;
  }
  async initCursor(value: string): Promise<void> {
    this.value ??= value;
  }
  async setCursor(value: string): Promise<void> {
    this.value = value;
  }
}

export interface FakeWorld {
  clock: ManualClock;
  journal: Journal;
  store: InMemoryRemediationStore;
  calendar: FakeCalendar;
  /** The subscriptions we hold and the sync cursors (CalendarWatchService's repository). */
  watch: WatchRepository;
  scheduler: FakeJobScheduler;
  sender: FakeSender;
  services: Services;
  /** A policy event as the ingest worker hands it over. */
  ingest(event: PolicyEvent): Promise<void>;
  /** The host's newest remediation. */
  latest(hostId: number): Promise<Remediation>;
  history(id: string): Promise<LifecycleEvent[]>;
}

/**
 * Every service built by createServices on in-memory ports: the store, the calendar, the job scheduler (which runs
 * jobs only when told), a recording webhook sender and a clock that moves only when the test moves it.
 */
export function fakeWorld(opts: {
  now: string;
  notifyBeforeMinutes?: number;
  lockWaitMs?: number;
  /** The calendar's change feed can renew a subscription (as Graph's); default: it cannot (as Google's). */
  renew?: boolean;
  lifecycleNotificationUrl?: string;
  /** Another WatchRepository (e.g. the Redis WatchStore); default: in memory. */
  watchStore?: WatchRepository;
  /** Where the services log (a LogCapture's logger, say); default: nowhere. */
  logger?: Logger;
}): FakeWorld {
  const clock = new ManualClock(opts.now);
  const journal = new Journal();
  const store = new InMemoryRemediationStore({ clock, journal, lockWaitMs: opts.lockWaitMs ?? 2000 });
  const calendar = new FakeCalendar(clock, 'UTC', { renew: opts.renew ?? false });
  const watch = opts.watchStore ?? new InMemoryWatchStore();
  const scheduler = new FakeJobScheduler(clock, journal);
  const sender = new FakeSender();
  const deps: ServiceDeps = {
    store,
    calendar,
    sender,
    scheduler,
    clock,
    logger: opts.logger ?? pino({ level: 'silent' }),
    settings: {
      orgName: 'Acme Corp',
      scheduling: defaultSchedulingRules,
      notifyBeforeMinutes: opts.notifyBeforeMinutes ?? 15,
      watch: {
        notificationUrl: 'https://mw.example/v1/google/notifications',
        ...(opts.lifecycleNotificationUrl ? { lifecycleNotificationUrl: opts.lifecycleNotificationUrl } : {}),
        pushHorizonMs: 6 * 3600_000,
        channelTtlSeconds: 3600,
        pollIntervalMs: 300_000,
        push: true,
      },
    },
  };
  const services = createServices(deps, {
    watchStore: watch,
    feedCursor: new InMemoryFeedCursor(),
    lifecycleJobs: scheduler,
    lifecycleSender: null,
    lifecycle: { types: null, retryBudgetSeconds: 60 },
  });
  scheduler.attach(services);
  return {
    clock,
    journal,
    store,
    calendar,
    watch,
    scheduler,
    sender,
    services,
    ingest: (event) => services.remediations.handle(event),
    async latest(hostId) {
      const [r] = (await store.list({ hostId, limit: 1 })).remediations;
      if (!r) throw new Error(`no remediation for host ${hostId}`);
      return r;
    },
    history: (id) => store.history(id),
  };
}

let occurred = Date.parse('2026-11-20T00:00:00Z');

/** A policy event for one host (owner email given); every call gets a later occurred_at. */
export function policyEvent(type: PolicyEvent['type'], hostId: number, owner: string | null, policyId = 7, source?: 'fleet'): PolicyEvent {
  occurred += 1000;
  return {
    type,
    host: { id: hostId, display_name: `Laptop ${hostId}`, serial_number: `SN${hostId}`, team_id: 1, ...(owner ? { emails: [owner] } : {}) },
    policy: { id: policyId, name: `Policy ${policyId}`, description: 'Why it matters', resolution: 'What we do' },
    occurred_at: new Date(occurred).toISOString(),
    ...(source ? { source } : {}),
  };
}
