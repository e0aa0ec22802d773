import type { ServiceDeps } from './ports';
import type { TransitionRunner } from './transition-runner';

/** A notice about one window: a remediation's booking at a start (`minutesBefore`: for window.upcoming). */
export interface WindowNotice {
  remediationId: string;
  bookingNumber: number;
  start: string;
  minutesBefore: number;
}

/**
 * `window.upcoming` (NOTIFY_BEFORE_MINUTES before a booked window's start) and `window.ended` (when a window that
 * started has passed its end). Each is a delayed job per booking and start; the lifecycle records each once and
 * refuses a notice about a window that moved or went (its job was for another start).
 */
export class WindowNoticeService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly runner: TransitionRunner,
  ) {}

  async upcoming(n: WindowNotice): Promise<void> {
    const applied = await this.runner.apply(n.remediationId, (r) =>
      r.bookingNumber === n.bookingNumber ? { type: 'window_upcoming', start: n.start, minutesBefore: n.minutesBefore } : null,
    );
    if (applied.kind === 'refused') this.deps.logger.debug({ remediation: n.remediationId, why: applied.reason }, 'window.upcoming not due');
  }

  /** Throws while the window has not ended by this daemon's clock (the job is retried). */
  async ended(n: WindowNotice): Promise<void> {
    const applied = await this.runner.apply(n.remediationId, (r) => (r.bookingNumber === n.bookingNumber ? { type: 'window_ended', start: n.start } : null));
    if (applied.kind === 'refused' && /not ended yet/.test(applied.reason)) throw new Error(`window of ${n.remediationId} has not ended yet`);
  }
}
