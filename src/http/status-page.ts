import type { FastifyInstance } from 'fastify';
import { DateTime } from 'luxon';
import type { Remediation } from '../domain/remediation';
import type { HttpDeps } from './http-deps';

const DAY_MS = 86_400_000;
const MAX_WINDOWS = 2000;

/**
 * `GET /` (admin token, or open in the sandbox): a server-rendered status page — this week's and next week's windows
 * day by day (owner, host, policies, status), delivery health over the last 7 days, and the latest failures with
 * their reasons. Plain HTML and CSS, no script: it reads the same store the API reads.
 */
export function statusPageRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.get('/', { config: { auth: 'admin' }, schema: { tags: ['operations'], summary: 'Status page (HTML)', security: [{ admin: [] }] } }, async (_req, reply) => {
    const now = deps.clock.now();
    const weekStart = DateTime.fromMillis(now, { zone: 'utc' }).startOf('week').toMillis();
    const windows = await allPages((cursor) => deps.store.list({ from: weekStart, to: weekStart + 14 * DAY_MS, limit: 1000, cursor }), MAX_WINDOWS);
    const [fired, failed, firing, unassigned, pending] = await Promise.all(
      (['fired', 'delivery_failed', 'firing', 'unassigned', 'pending'] as const).map((status) =>
        allPages((cursor) => deps.store.list({ status, limit: 1000, cursor }), MAX_WINDOWS),
      ),
    );
    const since = now - 7 * DAY_MS;
    const recent = (r: Remediation) => Date.parse(r.firedAt ?? r.delivery?.createdAt ?? r.updatedAt) >= since;
    const health = { fired: fired.filter(recent).length, failed: failed.filter(recent).length, firing: firing.length };
    const failures = [...failed, ...unassigned, ...pending.filter((r) => r.reason?.startsWith('booking failed'))]
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
      .slice(0, 20);
    reply.header('content-type', 'text/html; charset=utf-8');
    reply.header('cache-control', 'no-store');
    return renderStatusPage({ now, weekStart, windows: windows.sort((a, b) => Date.parse(a.start ?? '') - Date.parse(b.start ?? '')), health, failures });
  });
}

async function allPages(page: (cursor?: string) => Promise<{ remediations: Remediation[]; next: string | null }>, max: number): Promise<Remediation[]> {
  const out: Remediation[] = [];
  let cursor: string | undefined;
  do {
    const p = await page(cursor);
    out.push(...p.remediations);
    cursor = p.next ?? undefined;
  } while (cursor && out.length < max);
  return out;
}

interface PageData {
  now: number;
  weekStart: number;
  windows: Remediation[];
  health: { fired: number; failed: number; firing: number };
  failures: Remediation[];
}

export function renderStatusPage(d: PageData): string {
  const days: Array<[string, Remediation[]]> = [];
  for (let i = 0; i < 14; i++) {
    const date = DateTime.fromMillis(d.weekStart + i * DAY_MS, { zone: 'utc' }).toISODate() as string;
    // A window's day is its date where its owner is (its start is written in the owner's zone).
    days.push([date, d.windows.filter((r) => (r.start ?? '').slice(0, 10) === date)]);
  }
  const total = d.health.fired + d.health.failed;
  const rate = total === 0 ? '—' : `${Math.round((d.health.fired / total) * 100)} %`;
  const week = (offset: number, title: string) => `
    <section class="week"><h2>${title}</h2>
    ${days
      .slice(offset, offset + 7)
      .map(([date, rs]) => `
      <div class="day" data-date="${date}"><h3>${esc(DateTime.fromISO(date, { zone: 'utc' }).toFormat('cccc d LLLL'))}</h3>
      ${rs.length === 0 ? '<p class="empty">No windows</p>' : `<table><thead><tr><th>Time</th><th>Owner</th><th>Host</th><th>Policies</th><th>Status</th></tr></thead><tbody>
        ${rs.map((r) => `<tr class="status-${esc(r.status)}" data-remediation="${esc(r.id)}"><td>${esc(time(r))}</td><td>${esc(r.email ?? '—')}</td><td>${esc(r.host.displayName)} (${r.host.id})</td><td>${esc(r.policies.map((p) => p.name).join(', '))}</td><td><span class="badge">${esc(r.status)}</span></td></tr>`).join('')}
      </tbody></table>`}</div>`)
      .join('')}
    </section>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Maintenance windows — status</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2433;background:#f6f7f9}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}h3{font-size:14px;margin:12px 0 6px;color:#445}
.muted,.empty{color:#778;margin:4px 0}.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{background:#fff;border:1px solid #dde;border-radius:8px;padding:12px 16px;min-width:140px}.card b{display:block;font-size:22px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eef}
.badge{padding:1px 8px;border-radius:10px;background:#e8eaf0;font-size:12px}
.status-fired .badge{background:#d7f2df}.status-delivery_failed .badge,.status-unassigned .badge{background:#fadcdc}
.status-booked .badge{background:#dbe8fb}.status-firing .badge{background:#fff1c9}
</style></head><body>
<h1>Maintenance windows</h1>
<p class="muted">As of ${esc(new Date(d.now).toISOString())} · weeks from ${esc(DateTime.fromMillis(d.weekStart, { zone: 'utc' }).toISODate() ?? '')} (UTC dates)</p>
<section><h2>Delivery health (last 7 days)</h2><div class="cards">
<div class="card" id="delivered">Delivered<b>${d.health.fired}</b></div>
<div class="card" id="failed">Failed<b>${d.health.failed}</b></div>
<div class="card" id="in-progress">In progress<b>${d.health.firing}</b></div>
<div class="card" id="success-rate">Success rate<b>${rate}</b></div>
</div></section>
${week(0, 'This week')}
${week(7, 'Next week')}
<section id="failures"><h2>Latest failures</h2>
${d.failures.length === 0 ? '<p class="empty">None</p>' : `<table><thead><tr><th>When</th><th>Host</th><th>Owner</th><th>Status</th><th>Reason</th></tr></thead><tbody>
${d.failures.map((r) => `<tr class="status-${esc(r.status)}" data-remediation="${esc(r.id)}"><td>${esc(r.updatedAt)}</td><td>${esc(r.host.displayName)} (${r.host.id})</td><td>${esc(r.email ?? '—')}</td><td><span class="badge">${esc(r.status)}</span></td><td class="reason">${esc(r.reason ?? '')}</td></tr>`).join('')}
</tbody></table>`}
</section>
</body></html>`;
}

function time(r: Remediation): string {
  if (!r.start || !r.end) return '';
  const s = DateTime.fromISO(r.start, { setZone: true });
  const e = DateTime.fromISO(r.end, { setZone: true });
  return `${s.toFormat('HH:mm')}–${e.toFormat('HH:mm')} ${r.timeZone ?? s.toFormat('ZZ')}`;
}

/** Everything shown is data: escaped, so a host name cannot inject markup. */
function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}
