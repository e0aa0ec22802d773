import type { DaemonClient } from './daemon-client';
import { startTestEnv, type TestEnv, type TestEnvOptions } from './test-app';

const HOOK_TIMEOUT_MS = 90_000;

/** A daemon started once for a describe block (and stopped after it), with its HTTP client. */
export interface DaemonHandle {
  readonly env: TestEnv;
  readonly daemon: DaemonClient;
}

/**
 * Registers beforeAll/afterAll that start a whole daemon (startTestEnv: real Redis under a unique prefix, the
 * Calendar emulator, a recording webhook receiver) and stop it, cleaning up its keys. Use inside a describe:
 *
 *   const t = useDaemon({ label: 'booking', clock });
 *   it('…', async () => { await t.daemon.post(…); t.env.emulator.events(…) });
 */
export function useDaemon(opts: TestEnvOptions | (() => TestEnvOptions | Promise<TestEnvOptions>)): DaemonHandle {
  let env: TestEnv | undefined;
  // Start and graceful stop (workers get up to 20 s to finish) can outlast Jest's 30 s on a loaded machine.
  beforeAll(async () => {
    env = await startTestEnv(typeof opts === 'function' ? await opts() : opts);
  }, HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await env?.stop();
  }, HOOK_TIMEOUT_MS);
  return {
    get env() {
      if (!env) throw new Error('useDaemon: the daemon is not started (use it inside a test)');
      return env;
    },
    get daemon() {
      return this.env.client;
    },
  };
}
