import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LifecycleEvent } from '../domain/lifecycle-event';
import type { RemediationStatus } from '../domain/remediation';
import type { Telemetry } from '../services/ports';

/** What a scrape reads fresh: current counts that no single daemon's counters can know. */
export interface MetricsSnapshot {
  remediationsByStatus(): Promise<Partial<Record<RemediationStatus, number>>>;
  /** Jobs per queue and state (waiting, active, delayed, failed, …). */
  queueDepths(): Promise<Record<string, Record<string, number>>>;
  redisUp(): Promise<boolean>;
}

/**
 * Prometheus metrics (`GET /metrics`, text format). Counters are this daemon's own (sum them across replicas);
 * gauges are read from Redis at each scrape, so every replica reports the same. Labels never carry an email, a
 * host id or any other identifier: statuses, reasons, methods, outcomes and queue names only.
 */
export class Metrics implements Telemetry {
  readonly registry = new Registry();
  private readonly lifecycleEvents: Counter<'type'>;
  private readonly bookings: Counter;
  private readonly rebooks: Counter<'reason'>;
  private readonly fires: Counter<'actor'>;
  private readonly fireLateness: Histogram;
  private readonly deliveryLateness: Histogram;
  private readonly deliveryAttempts: Counter<'webhook' | 'outcome'>;
  private readonly googleCalls: Counter<'method' | 'status'>;
  private readonly graphCalls: Counter<'method' | 'status'>;
  private readonly quotaWaits: Counter;
  private readonly notifications: Counter<'verdict'>;

  constructor(snapshot: MetricsSnapshot) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'mw_process_' });
    this.lifecycleEvents = new Counter({ name: 'mw_lifecycle_events_total', help: 'Lifecycle events recorded by this daemon, by type', labelNames: ['type'], registers });
    this.bookings = new Counter({ name: 'mw_bookings_total', help: 'Maintenance windows booked (window.booked)', registers });
    this.rebooks = new Counter({ name: 'mw_rebooks_total', help: 'Windows rebooked after the owner deleted them, moved them into the past or made them all-day', labelNames: ['reason'], registers });
    this.fires = new Counter({ name: 'mw_fires_total', help: 'Windows started: resolution webhooks sent (actor system: at the start; admin: fire-now)', labelNames: ['actor'], registers });
    this.fireLateness = new Histogram({
      name: 'mw_fire_lateness_seconds',
      help: 'How late after its start a window fired',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers,
    });
    this.deliveryLateness = new Histogram({
      name: 'mw_resolution_delivery_lateness_seconds',
      help: "How long after its window's start the resolution webhook was accepted (2xx), pacing and retries included",
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800],
      registers,
    });
    this.deliveryAttempts = new Counter({ name: 'mw_delivery_attempts_total', help: 'Webhook delivery attempts by webhook and outcome', labelNames: ['webhook', 'outcome'], registers });
    this.googleCalls = new Counter({ name: 'mw_google_calls_total', help: 'Google Calendar API requests by method and HTTP status (0: no answer)', labelNames: ['method', 'status'], registers });
    this.graphCalls = new Counter({ name: 'mw_graph_calls_total', help: 'Microsoft Graph requests by method and HTTP status (0: no answer)', labelNames: ['method', 'status'], registers });
    this.quotaWaits = new Counter({ name: 'mw_google_quota_waits_total', help: 'Google requests that waited for the shared request budget', registers });
    this.notifications = new Counter({ name: 'mw_push_notifications_total', help: 'Push notifications by verdict (accepted, or the reason it was ignored)', labelNames: ['verdict'], registers });
    const byStatus = new Gauge({
      name: 'mw_remediations',
      help: 'Remediations by status (all daemons: read from Redis)',
      labelNames: ['status'],
      registers,
      async collect() {
        const counts = await snapshot.remediationsByStatus();
        this.reset();
        for (const [status, n] of Object.entries(counts)) this.set({ status }, n ?? 0);
      },
    });
    const queues = new Gauge({
      name: 'mw_queue_jobs',
      help: 'BullMQ jobs by queue and state (queue window-timers: windows whose jobs still wait as timers)',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        const depths = await snapshot.queueDepths();
        this.reset();
        for (const [queue, states] of Object.entries(depths)) for (const [state, n] of Object.entries(states)) this.set({ queue, state }, n);
      },
    });
    const redis = new Gauge({
      name: 'mw_redis_up',
      help: '1 when Redis answered the scrape',
      registers,
      async collect() {
        this.set((await snapshot.redisUp()) ? 1 : 0);
      },
    });
    void byStatus;
    void queues;
    void redis;
  }

  /** The lifecycle events this daemon stored (the transition runner reports each commit's). */
  events(events: LifecycleEvent[]): void {
    for (const e of events) {
      this.lifecycleEvents.inc({ type: e.type });
      if (e.type === 'window.booked') this.bookings.inc();
      if (e.type === 'window.rebooked') this.rebooks.inc({ reason: String(e.data.reason ?? 'unknown') });
      if (e.type === 'window.started') {
        this.fires.inc({ actor: e.actor });
        const late = e.data.late_ms;
        if (typeof late === 'number') this.fireLateness.observe(Math.max(0, late) / 1000);
      }
    }
  }

  resolutionLateness(ms: number): void {
    this.deliveryLateness.observe(Math.max(0, ms) / 1000);
  }

  deliveryAttempt(webhook: 'resolution' | 'lifecycle', outcome: 'delivered' | 'retry' | 'failed'): void {
    this.deliveryAttempts.inc({ webhook, outcome });
  }

  notification(verdict: string): void {
    this.notifications.inc({ verdict });
  }

  googleCall(method: string, status: number): void {
    this.googleCalls.inc({ method, status: String(status) });
  }

  graphCall(method: string, status: number): void {
    this.graphCalls.inc({ method, status: String(status) });
  }

  quotaWait(): void {
    this.quotaWaits.inc();
  }

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
