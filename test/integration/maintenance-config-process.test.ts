/**
 * MAINTENANCE_CONFIG_FILE in a real daemon process (`node --import tsx src/main.ts`): a bad file stops it with one
 * line naming the file and the path inside it (exit 1, before any connection); SIGHUP re-reads the file (new
 * bookings follow it), and an invalid file then keeps the configuration in force and logs why.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DateTime } from 'luxon';
import { request } from 'undici';
import { freePort } from '../support/free-port';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../support/redis';
import { waitFor } from '../support/wait';

const REPO_ROOT = resolve(__dirname, '../..');

function spawnDaemon(env: Record<string, string>): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exit = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  return { child, output: () => out, exit };
}

/** Posts a failing host (sandbox: no token; its calendar is created on demand) and returns its window's local weekday. */
async function bookedWeekday(port: number, hostId: number): Promise<number> {
  const base = `http://127.0.0.1:${port}`;
  const event = {
    type: 'policy_failing',
    host: { id: hostId, display_name: `Host ${hostId}`, serial_number: `SN${hostId}`, emails: [`hup${hostId}-${process.pid}@example.com`], team_id: 1 },
    policy: { id: 7, name: 'Disk encryption' },
    occurred_at: new Date().toISOString(),
  };
  const posted = await request(`${base}/v1/policy-events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
  expect(posted.statusCode).toBe(202);
  await posted.body.dump();
  const start = await waitFor(async () => {
    const res = await request(`${base}/v1/remediations?host_id=${hostId}`);
    const body = (await res.body.json()) as { remediations: Array<{ status: string; start: string | null }> };
    return body.remediations[0]?.status === 'booked' ? body.remediations[0].start : null;
  }, { timeoutMs: 15_000, what: `host ${hostId} booked` });
  return DateTime.fromISO(start, { setZone: true }).weekday;
}

describe('MAINTENANCE_CONFIG_FILE in the daemon process', () => {
  jest.setTimeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'mw-maintenance-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a bad file exits 1 with one line naming the file and the field, before connecting to anything', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'teams:\n  "5": { window: { rrule: "FREQ=SOMETIMES" } }\n');
    const port = await freePort();
    // Redis on a port nobody listens on: the file is judged first.
    const run = spawnDaemon({ PORT: String(port), HOST: '127.0.0.1', REDIS_URL: 'redis://127.0.0.1:1/0', MAINTENANCE_CONFIG_FILE: file });
    expect(await run.exit).toBe(1);
    const lines = run.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('MAINTENANCE_CONFIG_FILE');
    expect(lines[0]).toContain(`${file}: teams.5.window.rrule:`);
  });

  it('a missing file exits 1 naming it', async () => {
    const file = join(dir, 'missing.yaml');
    const run = spawnDaemon({ PORT: String(await freePort()), HOST: '127.0.0.1', REDIS_URL: 'redis://127.0.0.1:1/0', MAINTENANCE_CONFIG_FILE: file });
    expect(await run.exit).toBe(1);
    expect(run.output().trim()).toMatch(new RegExp(`MAINTENANCE_CONFIG_FILE ${file}: cannot read the file`));
  });

  it('SIGHUP re-reads the file; an invalid one keeps the configuration in force and logs why', async () => {
    const file = join(dir, 'good.yaml');
    writeFileSync(file, 'defaults: { window: { rrule: "FREQ=WEEKLY;BYDAY=TH" } }\n');
    const port = await freePort();
    const prefix = uniquePrefix('maintenance-sighup');
    const run = spawnDaemon({ PORT: String(port), HOST: '127.0.0.1', REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix, MAINTENANCE_CONFIG_FILE: file });
    const rruleInForce = async (): Promise<string | null> => {
      try {
        const res = await request(`http://127.0.0.1:${port}/v1/maintenance-config`);
        if (res.statusCode !== 200) {
          await res.body.dump();
          return null;
        }
        return ((await res.body.json()) as { defaults: { window: { rrule: string } } }).defaults.window.rrule;
      } catch {
        return null;
      }
    };
    try {
      expect(await waitFor(rruleInForce, { timeoutMs: 30_000, what: 'the daemon to answer' })).toBe('FREQ=WEEKLY;BYDAY=TH');
      expect(await bookedWeekday(port, 1)).toBe(4);
      writeFileSync(file, 'defaults: { window: { rrule: "FREQ=WEEKLY;BYDAY=FR" } }\n');
      run.child.kill('SIGHUP');
      await waitFor(async () => (await rruleInForce()) === 'FREQ=WEEKLY;BYDAY=FR', { what: 'the new rule in force' });
      // New bookings follow the new rule.
      expect(await bookedWeekday(port, 2)).toBe(5);

      writeFileSync(file, 'defaults: { window: { slot_minutes: "long" } }\n');
      run.child.kill('SIGHUP');
      await waitFor(() => run.output().includes('NOT reloaded'), { what: 'the refused reload logged' });
      expect(run.output()).toContain('defaults.window.slot_minutes');
      expect(await rruleInForce()).toBe('FREQ=WEEKLY;BYDAY=FR');
      expect(run.child.exitCode).toBeNull();
    } finally {
      run.child.kill('SIGTERM');
      await run.exit;
      await deletePrefix(prefix);
    }
  });
});
