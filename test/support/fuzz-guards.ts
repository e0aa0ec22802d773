import type { LightMyRequestResponse as InjectResponse } from 'fastify';

/** Collects unhandled rejections and uncaught exceptions while a fuzz test runs: there must be none. */
export class CrashGuard {
  readonly crashes: unknown[] = [];
  private readonly record = (err: unknown) => this.crashes.push(err);

  install(): this {
    process.on('unhandledRejection', this.record);
    process.on('uncaughtException', this.record);
    return this;
  }

  uninstall(): void {
    process.off('unhandledRejection', this.record);
    process.off('uncaughtException', this.record);
  }
}

/**
 * The HTTP contract for any answer to hostile input: never a 5xx; every 4xx is `{statusCode, code, error, message}`
 * (plus `field` on a 400, naming what is wrong). Throws with the response when it is broken.
 */
export function expectWellFormedAnswer(res: InjectResponse): void {
  if (res.statusCode >= 500) throw new Error(`server error ${res.statusCode}: ${res.body}`);
  if (res.statusCode < 400) return;
  let body: Record<string, unknown>;
  try {
    body = res.json();
  } catch {
    throw new Error(`${res.statusCode} without a JSON body: ${res.body.slice(0, 200)}`);
  }
  const shapeOk =
    body.statusCode === res.statusCode &&
    typeof body.code === 'string' &&
    typeof body.error === 'string' &&
    typeof body.message === 'string';
  if (!shapeOk) throw new Error(`${res.statusCode} with a malformed error body: ${res.body.slice(0, 300)}`);
  if (res.statusCode === 400 && (typeof body.field !== 'string' || body.field === '')) {
    throw new Error(`400 that names no field: ${res.body.slice(0, 300)}`);
  }
}
