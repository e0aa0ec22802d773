import { TEST_TOKENS } from './daemon-client';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { freePort } from './free-port';

const REPO_ROOT = resolve(__dirname, '../..');

/** Everything a daemon process needs from its test: where Redis, the Calendar emulator and the receiver are. */
export interface DaemonProcessOptions {
  /** Names the daemon in logs and figures ("d1"). */
  name: string;
  redisUrl: string;
  keyPrefix: string;
  /** Service-account key file of the emulator (GOOGLE_CREDENTIALS_FILE). */
  credentialsFile: string;
  googleApiUrl: string;
  googleTokenUrl: string;
  resolutionWebhookUrl: string;
  /** PUBLIC_URL (where Google pushes); default: this daemon's own URL. Replicas behind one load balancer share one. */
  publicUrl?: string;
  /** Listen on this port (default: a free one, kept across restarts). */
  port?: number;
  /** CLOCK_OFFSET_MS: the same for every daemon of one test (and the emulator). */
  clockOffsetMs?: number;
  /** Its stdout/stderr (JSON log lines) are appended to `<logDir>/<name>.log`. */
  logDir: string;
  logLevel?: string;
  env?: Record<string, string>;
}

export interface DaemonExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A real daemon in a child process (`node --import tsx src/main.ts`), so tests can SIGKILL and SIGTERM it.
 * It keeps its port across restarts: PUBLIC_URL (where Google pushes) stays the same, like a restarted pod.
 */
export class DaemonProcess {
  private child: ChildProcess | null = null;
  private exit: Promise<DaemonExit> | null = null;
  port = 0;
  /** How many times it was started. */
  starts = 0;
  /** Milliseconds from spawn to ready, per successful start. */
  readyMs: number[] = [];

  constructor(private readonly opts: DaemonProcessOptions) {
    this.port = opts.port ?? 0;
  }

  get name(): string {
    return this.opts.name;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get alive(): boolean {
    return this.child !== null;
  }

  get logFile(): string {
    return join(this.opts.logDir, `${this.opts.name}.log`);
  }

  /** Spawns the process and resolves once `/readyz` answers 200. */
  async start(timeoutMs = 30_000): Promise<this> {
    if (this.child) throw new Error(`daemon ${this.name} is already running`);
    if (this.port === 0) this.port = await freePort();
    const out = openSync(this.logFile, 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', out, out],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        REDIS_URL: this.opts.redisUrl,
        REDIS_KEY_PREFIX: this.opts.keyPrefix,
        PORT: String(this.port),
        HOST: '127.0.0.1',
        PUBLIC_URL: this.opts.publicUrl ?? this.url,
        GOOGLE_CREDENTIALS_FILE: this.opts.credentialsFile,
        GOOGLE_API_URL: this.opts.googleApiUrl,
        GOOGLE_TOKEN_URL: this.opts.googleTokenUrl,
        RESOLUTION_WEBHOOK_URL: this.opts.resolutionWebhookUrl,
        ORG_NAME: 'Acme Corp',
        // A daemon on Google credentials requires both tokens.
        INGEST_TOKEN: TEST_TOKENS.ingest,
        ADMIN_TOKEN: TEST_TOKENS.admin,
        LOG_LEVEL: this.opts.logLevel ?? 'info',
        ...(this.opts.clockOffsetMs !== undefined ? { CLOCK_OFFSET_MS: String(this.opts.clockOffsetMs) } : {}),
        ...this.opts.env,
      },
    });
    closeSync(out);
    this.child = child;
    this.starts++;
    this.exit = new Promise((resolveExit) =>
      child.once('exit', (code, signal) => {
        if (this.child === child) this.child = null;
        resolveExit({ code, signal });
      }),
    );
    const spawnedAt = Date.now();
    const deadline = spawnedAt + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.child) throw new Error(`daemon ${this.name} exited while starting (${JSON.stringify(await this.exit)}); see ${this.logFile}`);
      if ((await this.readiness()) === 200) {
        this.readyMs.push(Date.now() - spawnedAt);
        return this;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`daemon ${this.name} not ready after ${timeoutMs} ms; see ${this.logFile}`);
  }

  /** HTTP status of GET /readyz, or 0 when nothing answers. */
  async readiness(): Promise<number> {
    try {
      const res = await request(`${this.url}/readyz`, { headersTimeout: 3000, bodyTimeout: 3000 });
      await res.body.dump();
      return res.statusCode;
    } catch {
      return 0;
    }
  }

  /** SIGKILL: the process dies at once, whatever it was doing. */
  async kill(): Promise<DaemonExit> {
    return this.signal('SIGKILL');
  }

  /** Sends the signal and waits for the exit; resolves the exit code/signal and how long it took. */
  async signal(signal: NodeJS.Signals): Promise<DaemonExit & { ms: number }> {
    const child = this.child;
    const exit = this.exit;
    if (!child || !exit) throw new Error(`daemon ${this.name} is not running`);
    const started = Date.now();
    child.kill(signal);
    const result = await exit;
    return { ...result, ms: Date.now() - started };
  }

  /** Best-effort cleanup at the end of a test. */
  async dispose(): Promise<void> {
    if (this.child) await this.kill();
  }
}
