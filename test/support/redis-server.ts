import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisAnswers } from '../../src/lib/redis-bootstrap';
import { freePort } from './free-port';

/**
 * A private `redis-server` for tests that stop and restart Redis (so the shared one on 6379 is never touched).
 * Append-only persistence in its own temp directory: a stop (SIGTERM, Redis flushes the AOF) and a start on the
 * same port keep every key, like a production Redis with AOF.
 */
export class RedisServer {
  private child: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), 'mw-redis-'));
  port = 0;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Starts it (on the same port as before, if it ran already) and waits until it answers PING. */
  async start(): Promise<this> {
    if (this.child) return this;
    if (this.port === 0) this.port = await freePort();
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', this.dir, '--logfile', join(this.dir, 'redis.log')],
      { stdio: 'ignore' },
    );
    this.child = child;
    child.once('exit', () => {
      if (this.child === child) this.child = null;
    });
    for (let i = 0; i < 100; i++) {
      if (await redisAnswers(this.url, 300)) return this;
      if (!this.child) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server on port ${this.port} did not start (see ${join(this.dir, 'redis.log')})`);
  }

  /** Stops it the way an operator would (SIGTERM: Redis writes the AOF and exits) and waits for the exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await exited;
  }

  /** Stops it and removes its data. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
