import type { Clock } from '../../src/lib/clock';
import { createLogger } from '../../src/lib/logger';
import { LogCapture } from './log-capture';
import { startTestEnv, type TestEnv } from './test-app';

export interface LoggedApp extends TestEnv {
  /** Every line the daemon logged (at `level`). */
  logs: LogCapture;
}

export interface LoggedAppOptions {
  label: string;
  /** Log level of the captured logger. Default `debug`. */
  level?: string;
  env?: Record<string, string>;
  clock?: Clock;
}

/**
 * A whole daemon as startTestEnv composes it, NOT started (`app.http.inject()` works, workers take no jobs until
 * `app.start()`), whose logger writes to a LogCapture: for tests of what reaches the logs and for inject()-driven
 * tests of the real HTTP server.
 */
export async function createLoggedApp(opts: LoggedAppOptions): Promise<LoggedApp> {
  const logs = new LogCapture();
  const env = await startTestEnv({
    label: opts.label,
    clock: opts.clock,
    env: opts.env,
    logger: createLogger(opts.level ?? 'debug', logs),
    start: false,
  });
  return Object.assign(env, { logs });
}
