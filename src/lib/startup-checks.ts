import { createServer } from 'node:net';
import { createRedisClient } from './redis-connection';

/**
 * Start-up problems of the environment (Redis unreachable, the port taken): one line saying what to fix, naming
 * the variable, never a stack trace and never a credential. main.ts prints the message and exits 1.
 */
export class StartupError extends Error {
  readonly code = 'STARTUP_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/** `redis://user:pass@host:6379/2` → `redis://***@host:6379/2`: what a message may show of a Redis URL. */
export function maskUrlCredentials(url: string): string {
  try {
    const u = new URL(url);
    const masked = u.username || u.password ? '***@' : '';
    return `${u.protocol}//${masked}${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '<invalid URL>';
  }
}

/**
 * Connects once to REDIS_URL and asks PING; throws a StartupError naming REDIS_URL (credentials masked) and the
 * reason when that fails. Nothing is retried: a daemon pointed at the wrong Redis should say so at once.
 */
export async function checkRedisReachable(url: string, timeoutMs = 3000, tlsCaFile?: string): Promise<void> {
  let lastError: Error | undefined;
  // Made like the daemon's own connections (rediss:// verified against REDIS_TLS_CA_FILE when set).
  const probe = createRedisClient({ deployment: { kind: 'url', url }, tlsCaFile }, 'main', {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  probe.on('error', (err: Error) => {
    lastError = err;
  });
  try {
    await probe.connect();
    const answer = await probe.ping();
    if (answer === 'PONG') return;
    throw new Error(`PING answered ${JSON.stringify(answer)}`);
  } catch (err) {
    const reason = describeConnectionError(lastError ?? (err as Error));
    throw new StartupError(`cannot reach Redis at REDIS_URL=${maskUrlCredentials(url)}: ${reason}`);
  } finally {
    probe.disconnect();
  }
}

/** Throws a StartupError naming PORT/HOST when the address cannot be listened on (checked before connecting). */
export async function checkPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (err) => reject(listenError(err, host, port)));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** The one line for an error of `listen()` (EADDRINUSE, EACCES, EADDRNOTAVAIL); other errors are returned as they are. */
export function listenError(err: unknown, host: string, port: number): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const where = `${host}:${port}`;
  if (code === 'EADDRINUSE') return new StartupError(`cannot listen on ${where}: the port is already in use (set PORT to a free port, or stop what holds it)`);
  if (code === 'EACCES') return new StartupError(`cannot listen on ${where}: permission denied (ports below 1024 need privileges; set PORT)`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return new StartupError(`cannot listen on ${where}: HOST is not an address of this machine`);
  return err instanceof Error ? err : new Error(String(err));
}

/** "connection refused (ECONNREFUSED)" rather than an ioredis stack. Never quotes the URL (credentials). */
function describeConnectionError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  const message = err.message.replace(/redis(s)?:\/\/\S+/g, '<REDIS_URL>');
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `host not found (${code})`;
  if (code === 'ETIMEDOUT' || /connect ETIMEDOUT|timed? ?out/i.test(message)) return 'no answer (timed out)';
  if (/WRONGPASS|NOAUTH|invalid password|invalid username/i.test(message)) return `authentication refused (${message.split('\n')[0]})`;
  return message.split('\n')[0] + (code && !message.includes(code) ? ` (${code})` : '');
}
