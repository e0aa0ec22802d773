import type { Queue } from 'bullmq';
import type { PolicyEvent } from '../ingest/policy-event';
import type { Logger } from '../lib/logger';
import type { AdminResult } from '../services/admin-service';
import type { CalendarNotification } from '../ports/calendar';
import type { NotificationVerdict } from '../services/calendar-watch-service';
import type { RedeliverResult } from '../services/delivery-service';
import type { RemediationRepository } from '../services/ports';
import type { Tokens } from './auth';
import type { MaintenanceConfigView } from '../maintenance-config';
import type { PreviewQuery, PreviewResult } from '../services/preview-service';

/** What the HTTP layer may use. It validates and enqueues (or asks a service); it holds no business logic. */
export interface HttpDeps {
  logger: Logger;
  /** Reads: remediations, their history, the event feed. */
  store: Pick<RemediationRepository, 'get' | 'list' | 'history' | 'readFeed' | 'feedPosition'>;
  clock: { now(): number };
  tokens: Tokens;
  enqueue(events: PolicyEvent[]): Promise<void>;
  /** Sends a fired remediation's resolution webhook again (same payload, new delivery). Unset: 503. */
  redeliver?(id: string): Promise<RedeliverResult>;
  /** Admin actions (unset: 503). */
  admin?: {
    cancel(id: string, reason: string): Promise<AdminResult>;
    fireNow(id: string): Promise<AdminResult>;
    reschedule(id: string, start: number): Promise<AdminResult>;
  };
  /** A calendar notification (parsed by the provider's route): verified against our subscriptions, then acted on. */
  notify(n: CalendarNotification): Promise<NotificationVerdict>;
  /** How long a Graph notification batch may take to be stored before the answer is 503 (default 2,500 ms). */
  graphAnswerWithinMs?: number;
  /** Prometheus text (unset: /metrics answers 404). */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** The BullMQ queues shown at /admin/queues (unset: no dashboard). */
  queues?: Queue[];
  /** GET /v1/maintenance-config: the maintenance configuration in force, defaults filled in (unset: 404). */
  maintenanceConfig?: () => MaintenanceConfigView;
  /** GET /v1/preview: where a window would land now (asks freeBusy, writes nothing). Unset: 404. */
  preview?: (q: PreviewQuery) => Promise<PreviewResult>;
  /** Redis reachable and workers running. */
  ready(): Promise<{ ready: boolean; checks: Record<string, boolean> }>;
}
