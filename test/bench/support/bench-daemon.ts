import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { freePort } from '../../support/free-port';
import { daemonEntryArgs } from './daemon-build';

const REPO_ROOT = resolve(__dirname, '../../..');

export interface BenchDaemonOptions {
  name: string;
  redisUrl: string;
  keyPrefix: string;
  credentialsFile: string;
  googleApiUrl: string;
  googleTokenUrl: string;
  resolutionWebhookUrl: string;
  ingestToken: string;
  adminToken: string;
  clockOffsetMs: number;
  logDir: string;
  publicUrl?: string;
  port?: number;
  env?: Record<string, string>;
}

/**
 * One daemon process (the run's compiled build, see daemon-build.ts, on the bench's Node) on Google
 * credentials against the emulator; unlike that one it exposes its pid, so the bench can read its RSS.
 */
export class BenchDaemon {
  private child: ChildProcess | null = null;
  private exited: Promise<void> | null = null;
  port: number;
  /** Spawn → /readyz 200, per start. */
  readyMs: number[] = [];

  constructor(readonly opts: BenchDaemonOptions) {
    this.port = opts.port ?? 0;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get logFile(): string {
    return join(this.opts.logDir, `${this.opts.name}.log`);
  }

  async start(timeoutMs = 120_000): Promise<number> {
    if (this.child) throw new Error(`${this.opts.name} already running`);
    if (this.port === 0) this.port = await freePort();
    const out = openSync(this.logFile, 'a');
    const o = this.opts;
    const spawnedAt = Date.now();
    // The heap caps of the Dockerfile and start:prod, then any of BENCH_DAEMON_NODE_ARGS (a later one wins).
    const nodeArgs = ['--max-old-space-size=256', '--max-semi-space-size=16', ...(process.env.BENCH_DAEMON_NODE_ARGS ?? '').split(' ').filter(Boolean)];
    const child = spawn(process.execPath, [...nodeArgs, ...daemonEntryArgs()], {
      cwd: REPO_ROOT,
      stdio: ['ignore', out, out],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        REDIS_URL: o.redisUrl,
        REDIS_KEY_PREFIX: o.keyPrefix,
        PORT: String(this.port),
        HOST: '127.0.0.1',
        PUBLIC_URL: o.publicUrl ?? this.url,
        GOOGLE_CREDENTIALS_FILE: o.credentialsFile,
        GOOGLE_API_URL: o.googleApiUrl,
        GOOGLE_TOKEN_URL: o.googleTokenUrl,
        RESOLUTION_WEBHOOK_URL: o.resolutionWebhookUrl,
        INGEST_TOKEN: o.ingestToken,
        ADMIN_TOKEN: o.adminToken,
        ORG_NAME: 'Bench Corp',
        LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
        CLOCK_OFFSET_MS: String(o.clockOffsetMs),
        // As the Dockerfile: two glibc malloc arenas (see there); MALLOC_ARENA_MAX in the bench's environment wins.
        MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
        ...o.env,
      },
    });
    closeSync(out);
    this.child = child;
    this.exited = new Promise((r) =>
      child.once('exit', () => {
        if (this.child === child) this.child = null;
        r();
      }),
    );
    const deadline = spawnedAt + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.child) throw new Error(`${o.name} exited while starting; see ${this.logFile}`);
      if ((await this.readiness()) === 200) {
        const ms = Date.now() - spawnedAt;
        this.readyMs.push(ms);
        return ms;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${o.name} not ready after ${timeoutMs} ms; see ${this.logFile}`);
  }

  async readiness(): Promise<number> {
    try {
      const res = await request(`${this.url}/readyz`, { headersTimeout: 3000, bodyTimeout: 3000 });
      await res.body.dump();
      return res.statusCode;
    } catch {
      return 0;
    }
  }

  /** Resident set size in bytes (Linux /proc), or null when not running. */
  rssBytes(): number | null {
    const pid = this.pid;
    if (!pid) return null;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : null;
    } catch {
      return null;
    }
  }

  /** Graceful stop (SIGTERM), SIGKILL after `graceMs`. */
  async stop(graceMs = 30_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
