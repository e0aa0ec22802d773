import type { Remediation, RemediationStatus } from './remediation';

/** `GET /v1/hosts/:id/maintenance`: is the host in its maintenance window now, for how long, and what comes next. */
export interface MaintenanceState {
  host_id: number;
  in_window: boolean;
  window: { start: string; end: string } | null;
  remaining_seconds: number;
  next_window: { start: string; end: string } | null;
  status: RemediationStatus | null;
}

/** Statuses whose window is real (booked, or it started): a resolved or cancelled one's window no longer holds. */
const WINDOW_HOLDS: ReadonlySet<RemediationStatus> = new Set(['booked', 'firing', 'fired', 'delivery_failed']);

/**
 * From a host's remediations (any order) at `now`: the window under way (start ≤ now < end) if any, the next
 * booked one after now, and the status of the host's latest remediation.
 */
export function maintenanceState(hostId: number, remediations: Remediation[], now: number): MaintenanceState {
  const windows = remediations
    .filter((r) => WINDOW_HOLDS.has(r.status) && r.start && r.end)
    .map((r) => ({ start: r.start as string, end: r.end as string, s: Date.parse(r.start as string), e: Date.parse(r.end as string) }));
  const current = windows.filter((w) => w.s <= now && now < w.e).sort((a, b) => b.e - a.e)[0];
  const next = windows.filter((w) => w.s > now).sort((a, b) => a.s - b.s)[0];
  const latest = [...remediations].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? 1 : -1))[0];
  return {
    host_id: hostId,
    in_window: current !== undefined,
    window: current ? { start: current.start, end: current.end } : null,
    remaining_seconds: current ? Math.max(0, Math.ceil((current.e - now) / 1000)) : 0,
    next_window: next ? { start: next.start, end: next.end } : null,
    status: latest?.status ?? null,
  };
}
