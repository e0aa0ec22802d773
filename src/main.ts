import { App } from './app';
import { ConfigError, loadConfig } from './config';
import { MaintenanceConfigError } from './maintenance-config';
import { offsetClock, systemClock, type Clock } from './lib/clock';
import { RedisUnavailableError } from './lib/redis-bootstrap';
import { checkPortFree, checkRedisReachable, listenError, StartupError } from './lib/startup-checks';

/** How long a graceful shutdown may take before the process exits anyway. */
const SHUTDOWN_BOUND_MS = 25_000;

async function main(): Promise<void> {
  // Configuration first (every problem at once), before any connection is made; then the port and Redis, each
  // failing with one line that names the variable.
  const config = loadConfig();
  const clock = clockFromEnv(process.env);
  await checkPortFree(config.http.host, config.http.port);
  if (config.redis.urlFromEnv) await checkRedisReachable(config.redis.url, undefined, config.redis.connection.tlsCaFile);
  const app = await App.create({ config, clock });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal }, 'signal received');
    const timer = setTimeout(() => {
      app.logger.error({ boundMs: SHUTDOWN_BOUND_MS }, 'graceful shutdown took too long: exiting');
      process.exit(1);
    }, SHUTDOWN_BOUND_MS);
    timer.unref();
    app.stop().then(
      () => process.exit(0),
      (err) => {
        app.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // Re-reads MAINTENANCE_CONFIG_FILE; an invalid file keeps the configuration in force (logged).
  process.on('SIGHUP', () => {
    if (!stopping) app.reloadMaintenanceConfig();
  });
  try {
    await app.start();
  } catch (err) {
    // The port was taken between the check and listen (or another start-up step failed): stop what started.
    stopping = true;
    await app.stop().catch(() => undefined);
    throw listenError(err, config.http.host, config.http.port);
  }
}

/**
 * TEST/DEMO AID ONLY: `CLOCK_OFFSET_MS` shifts the daemon's notion of "now" by a fixed number of milliseconds
 * (real speed, so BullMQ's delays still line up). Multi-process tests use it to make a Tuesday 09:00 window start
 * a few seconds after launch; every daemon of one test gets the same offset. Unset in production.
 */
function clockFromEnv(env: NodeJS.ProcessEnv): Clock {
  const raw = env.CLOCK_OFFSET_MS?.trim();
  if (!raw) return systemClock;
  if (!/^-?\d{1,15}$/.test(raw)) throw new ConfigError('CLOCK_OFFSET_MS', `must be a whole number of milliseconds (got ${JSON.stringify(raw)})`);
  return offsetClock(Number(raw));
}

main().catch((err: unknown) => {
  // One clear line for configuration and environment problems; a stack for anything unexpected.
  if (err instanceof ConfigError || err instanceof RedisUnavailableError || err instanceof StartupError || err instanceof MaintenanceConfigError) console.error(err.message);
  else console.error('maintenance-windows failed to start:', err);
  process.exit(1);
});
