import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/**
 * The one place Redis clients are made, for every deployment operators run: a single server (`redis://`, or
 * `rediss://` over TLS), Redis Sentinel (the primary is asked of the sentinels and followed on failover), or Redis
 * Cluster. All through ioredis' own clients; BullMQ takes them as they are (its documented Cluster support: the
 * key prefix's `{hash tag}` keeps each queue, and every multi-key transaction of the store, on one slot).
 */

export interface HostPort {
  host: string;
  port: number;
}

export type RedisDeployment =
  | { kind: 'url'; url: string }
  | { kind: 'sentinel'; sentinels: HostPort[]; name: string }
  | { kind: 'cluster'; nodes: HostPort[] };

export interface RedisConnectionConfig {
  deployment: RedisDeployment;
  /** Sentinel and Cluster: the data nodes' ACL user and password (REDIS_USERNAME, REDIS_PASSWORD); a URL carries its own. */
  auth?: { username?: string; password?: string };
  /** Sentinel: the sentinels' own password (REDIS_SENTINEL_PASSWORD). */
  sentinelPassword?: string;
  /** PEM file of the CA that signed the server's certificate (TLS); unset: the system's CAs. */
  tlsCaFile?: string;
}

/** A client of any deployment: both speak the same commands (a Cluster routes each to its slot's primary). */
export type RedisClient = Redis | Cluster;

/**
 * What each of the daemon's connections is for, and its options:
 * - `main`: the store and everything else; a command waits through 2 reconnection attempts, then fails. Commands
 *   issued in the same tick go out in one write (auto-pipelining): a burst of windows is thousands of commands.
 * - `queues`: the BullMQ queues (adds); no offline queue, so an add while Redis is away fails at once (503).
 * - `workers`: BullMQ workers (blocking commands): BullMQ requires `maxRetriesPerRequest: null`.
 */
export type RedisRole = 'main' | 'queues' | 'workers';

const ROLE_OPTIONS: Record<RedisRole, Pick<RedisOptions, 'maxRetriesPerRequest' | 'enableOfflineQueue' | 'lazyConnect' | 'enableAutoPipelining'>> = {
  main: { maxRetriesPerRequest: 2, lazyConnect: true, enableAutoPipelining: true },
  queues: { maxRetriesPerRequest: 2, enableOfflineQueue: false, lazyConnect: true },
  workers: { maxRetriesPerRequest: null },
};

/** A deployment described for logs and messages: hosts and ports only, never a password. */
export function describeRedis(config: RedisConnectionConfig): string {
  const d = config.deployment;
  const list = (nodes: HostPort[]) => nodes.map((n) => `${n.host}:${n.port}`).join(',');
  if (d.kind === 'sentinel') return `sentinel ${d.name} via ${list(d.sentinels)}`;
  if (d.kind === 'cluster') return `cluster ${list(d.nodes)}`;
  try {
    const u = new URL(d.url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}

/** The client for one role. `extra` overrides (e.g. a probe's short connect timeout and no retries). */
export function createRedisClient(config: RedisConnectionConfig, role: RedisRole, extra: RedisOptions = {}): RedisClient {
  const options: RedisOptions = { ...ROLE_OPTIONS[role], ...extra };
  const d = config.deployment;
  if (d.kind === 'cluster') {
    const { enableOfflineQueue, lazyConnect, retryStrategy, enableAutoPipelining, ...perNode } = options;
    const tls = tlsOptions(config, false);
    const clusterOptions: ClusterOptions = {
      lazyConnect,
      ...(enableAutoPipelining ? { enableAutoPipelining } : {}),
      ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
      ...(retryStrategy ? { clusterRetryStrategy: retryStrategy } : {}),
      redisOptions: { ...perNode, ...config.auth, ...(tls ? { tls } : {}) },
    };
    return new Cluster(d.nodes, clusterOptions);
  }
  if (d.kind === 'sentinel') {
    const tls = tlsOptions(config, false);
    return new Redis({
      ...options,
      ...config.auth,
      sentinels: d.sentinels,
      name: d.name,
      ...(config.sentinelPassword ? { sentinelPassword: config.sentinelPassword } : {}),
      ...(tls ? { tls, enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
    });
  }
  const tls = tlsOptions(config, d.url.startsWith('rediss://'));
  return new Redis(d.url, { ...options, ...(tls ? { tls } : {}) });
}

/**
 * TLS options: with `rediss://` (or a CA file, for Sentinel and Cluster), the server's certificate is verified
 * against the CA file when one is given, else against the system's CAs.
 */
function tlsOptions(config: RedisConnectionConfig, tlsUrl: boolean): TlsOptions | undefined {
  if (!tlsUrl && !config.tlsCaFile) return undefined;
  return config.tlsCaFile ? { ca: readFileSync(config.tlsCaFile) } : {};
}

/** `host:port,host:port` → nodes; throws a one-line message naming the bad entry. */
export function parseHostPorts(list: string): HostPort[] {
  const entries = list.split(',').map((e) => e.trim()).filter(Boolean);
  if (entries.length === 0) throw new Error('must list at least one host:port');
  return entries.map((entry) => {
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(entry);
    const port = match ? Number(match[2]) : NaN;
    if (!match || port < 1 || port > 65535) throw new Error(`must be a comma-separated list of host:port (bad entry ${JSON.stringify(entry)})`);
    return { host: match[1].replace(/^\[|\]$/g, ''), port };
  });
}

/**
 * Connects a lazily created client (waits until it can take commands). Bounded: a Sentinel client whose sentinels
 * are all unreachable would otherwise retry for ever; on failure the client is disconnected (no retries left behind).
 */
export async function connectRedis(client: RedisClient, timeoutMs = 15_000): Promise<void> {
  if (client.status !== 'wait') return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no connection within ${timeoutMs / 1000} s`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    client.disconnect();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
