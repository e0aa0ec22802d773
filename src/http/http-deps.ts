import type { PolicyEvent } from '../ingest/policy-event';
import type { Logger } from '../lib/logger';
import type { RedeliverResult } from '../services/delivery-service';
import type { NotificationVerdict, PushNotification } from '../services/calendar-watch-service';
import type { RemediationStore } from '../store/remediation-store';

/** What the HTTP layer may use. It validates and enqueues; it holds no business logic. */
export interface HttpDeps {
  logger: Logger;
  store: RemediationStore;
  enqueue(events: PolicyEvent[]): Promise<void>;
  /** Sends a fired remediation's resolution webhook again (same payload, new delivery). Unset: 503. */
  redeliver?(id: string): Promise<RedeliverResult>;
  /** A Google push notification (headers only): verified against our channels, then a sync is enqueued. */
  notify(n: PushNotification): Promise<NotificationVerdict>;
  /** Redis reachable and workers running. */
  ready(): Promise<{ ready: boolean; checks: Record<string, boolean> }>;
  ingestToken?: string;
}
