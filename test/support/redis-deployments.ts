import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort } from './free-port';

const run = promisify(execFile);

/**
 * Real local Redis deployments for tests, each in its own temp directory on free ports, stopped (SIGTERM to the
 * processes it started, by pid) and removed by `destroy()`: a Sentinel watching one primary, a 3-primary Cluster,
 * and a TLS-only server with a self-signed CA made by openssl.
 */
abstract class Deployment {
  protected readonly dir = mkdtempSync(join(tmpdir(), 'mw-redis-dep-'));
  private readonly children: ChildProcess[] = [];

  protected spawnRedis(args: string[], name: string): ChildProcess {
    const child = spawn('redis-server', [...args, '--logfile', join(this.dir, `${name}.log`)], { stdio: 'ignore' });
    this.children.push(child);
    return child;
  }

  /** A log file's text (for failure messages). */
  protected log(name: string): string {
    try {
      return readFileSync(join(this.dir, `${name}.log`), 'utf8').split('\n').slice(-15).join('\n');
    } catch {
      return '(no log)';
    }
  }

  async destroy(): Promise<void> {
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Polls `check` (every 100 ms, up to `tries` times) until it returns true; throws `what` otherwise. */
async function until(check: () => Promise<boolean>, what: () => string, tries = 100): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(what());
}

async function answer(options: RedisOptions, command: (r: Redis) => Promise<unknown>): Promise<unknown> {
  const probe = new Redis({ lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 500, retryStrategy: () => null, ...options });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return await command(probe);
  } finally {
    probe.disconnect();
  }
}

/** One primary and one Sentinel monitoring it as `name` (quorum 1); each optionally behind its own password. */
export class SentinelDeployment extends Deployment {
  readonly name = 'mw-primary';
  primaryPort = 0;
  sentinelPort = 0;

  constructor(private readonly passwords: { primary?: string; sentinel?: string } = {}) {
    super();
  }

  async start(): Promise<this> {
    this.primaryPort = await freePort();
    this.sentinelPort = await freePort();
    const { primary: primaryPassword, sentinel: sentinelPassword } = this.passwords;
    this.spawnRedis(
      ['--port', String(this.primaryPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, ...(primaryPassword ? ['--requirepass', primaryPassword] : [])],
      'primary',
    );
    await until(async () => (await answer({ port: this.primaryPort, password: primaryPassword }, (r) => r.ping())) === 'PONG', () => `primary did not start:\n${this.log('primary')}`);
    const conf = join(this.dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${this.sentinelPort}`,
        'bind 127.0.0.1',
        `dir ${this.dir}`,
        `sentinel monitor ${this.name} 127.0.0.1 ${this.primaryPort} 1`,
        ...(primaryPassword ? [`sentinel auth-pass ${this.name} ${primaryPassword}`] : []),
        ...(sentinelPassword ? [`requirepass ${sentinelPassword}`] : []),
        '',
      ].join('\n'),
    );
    this.spawnRedis([conf, '--sentinel'], 'sentinel');
    await until(
      async () => {
        const addr = (await answer({ port: this.sentinelPort, password: sentinelPassword }, (r) => r.call('SENTINEL', 'get-master-addr-by-name', this.name))) as string[] | null;
        return addr?.[1] === String(this.primaryPort);
      },
      () => `sentinel did not start:\n${this.log('sentinel')}`,
    );
    return this;
  }

  get env(): Record<string, string> {
    const { primary, sentinel } = this.passwords;
    return {
      REDIS_URL: '',
      REDIS_SENTINELS: `127.0.0.1:${this.sentinelPort}`,
      REDIS_SENTINEL_NAME: this.name,
      ...(primary ? { REDIS_PASSWORD: primary } : {}),
      ...(sentinel ? { REDIS_SENTINEL_PASSWORD: sentinel } : {}),
    };
  }

  /** A plain client of the primary (to look at what the daemon wrote). */
  primary(): Redis {
    return new Redis({ port: this.primaryPort, password: this.passwords.primary, maxRetriesPerRequest: 1 });
  }
}

/** Three primaries, no replicas, slots spread by `redis-cli --cluster create`. */
export class ClusterDeployment extends Deployment {
  ports: number[] = [];

  async start(): Promise<this> {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const busPort = await freePort();
      this.ports.push(port);
      this.spawnRedis(
        [
          '--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
          '--cluster-config-file', join(this.dir, `nodes-${port}.conf`), '--save', '', '--appendonly', 'no', '--dir', this.dir,
        ],
        `node-${port}`,
      );
    }
    for (const port of this.ports) {
      await until(async () => (await answer({ port }, (r) => r.ping())) === 'PONG', () => `cluster node ${port} did not start:\n${this.log(`node-${port}`)}`);
    }
    await run('redis-cli', ['--cluster', 'create', ...this.ports.map((p) => `127.0.0.1:${p}`), '--cluster-yes'], { timeout: 30_000 });
    for (const port of this.ports) {
      await until(
        async () => String(await answer({ port }, (r) => r.call('CLUSTER', 'INFO'))).includes('cluster_state:ok'),
        () => `cluster not ok on ${port}`,
        300,
      );
    }
    return this;
  }

  get env(): Record<string, string> {
    return { REDIS_URL: '', REDIS_CLUSTER_NODES: this.ports.map((p) => `127.0.0.1:${p}`).join(',') };
  }

  /** Keys each primary holds, by port (the prefix's hash tag should put them all on one). */
  async keyCounts(): Promise<number[]> {
    return Promise.all(this.ports.map(async (port) => Number(await answer({ port }, (r) => r.dbsize()))));
  }
}

/** A TLS-only server (no plain port) whose certificate (127.0.0.1, localhost) is signed by a throwaway CA. */
export class TlsDeployment extends Deployment {
  port = 0;

  get caFile(): string {
    return join(this.dir, 'ca.crt');
  }

  async start(): Promise<this> {
    const d = (f: string) => join(this.dir, f);
    const subject = (cn: string) => ['-subj', `/CN=${cn}`];
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', d('ca.key'), '-out', d('ca.crt'), '-days', '1', ...subject('mw-test-ca')]);
    await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', d('server.key'), '-out', d('server.csr'), ...subject('localhost')]);
    writeFileSync(d('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    await run('openssl', ['x509', '-req', '-in', d('server.csr'), '-CA', d('ca.crt'), '-CAkey', d('ca.key'), '-CAcreateserial', '-out', d('server.crt'), '-days', '1', '-extfile', d('ext.cnf')]);
    this.port = await freePort();
    this.spawnRedis(
      [
        '--port', '0', '--tls-port', String(this.port), '--bind', '127.0.0.1', '--tls-cert-file', d('server.crt'), '--tls-key-file', d('server.key'),
        '--tls-ca-cert-file', d('ca.crt'), '--tls-auth-clients', 'no', '--save', '', '--appendonly', 'no', '--dir', this.dir,
      ],
      'tls',
    );
    const ca = readFileSync(this.caFile);
    await until(async () => (await answer({ port: this.port, tls: { ca } }, (r) => r.ping())) === 'PONG', () => `TLS redis did not start:\n${this.log('tls')}`);
    return this;
  }

  get url(): string {
    return `rediss://127.0.0.1:${this.port}`;
  }

  client(): Redis {
    return new Redis(this.url, { tls: { ca: readFileSync(this.caFile) }, maxRetriesPerRequest: 1 });
  }
}
