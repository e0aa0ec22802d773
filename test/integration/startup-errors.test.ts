/**
 * Start-up errors of a real daemon process (`node --import tsx src/main.ts`): every configuration problem at once
 * before any connection, the sandbox refused in production, an unreachable Redis and a port in use, each as one
 * line on stderr naming the variable (credentials masked, no stack trace) and exit code 1.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { freePort } from '../support/free-port';

const REPO_ROOT = resolve(__dirname, '../..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the daemon with exactly this environment (plus PATH/HOME) until it exits. */
function runDaemon(env: Record<string, string>): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

/** A TCP listener that records whether anything connected to it (a Redis that must not be reached). */
async function connectionRecorder(): Promise<{ server: Server; port: number; connections: Socket[] }> {
  const connections: Socket[] = [];
  const server = createServer((socket) => {
    connections.push(socket);
    socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0, connections };
}

function expectOneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0];
}

describe('start-up errors of the daemon process', () => {
  jest.setTimeout(60_000);

  it('reports every configuration error at once, in one line, before connecting to anything', async () => {
    const redis = await connectionRecorder();
    try {
      const run = await runDaemon({
        REDIS_URL: `redis://127.0.0.1:${redis.port}`,
        PORT: 'eighty',
        LOG_LEVEL: 'loud',
        GOOGLE_CREDENTIALS_FILE: '/nonexistent/key.json',
        WEBHOOK_SECRET: 'whsec_c2hvcnQ=',
      });
      expect(run.code).toBe(1);
      const line = expectOneLine(run.stderr);
      expect(line).toMatch(/^invalid configuration: /);
      for (const variable of ['PORT', 'LOG_LEVEL', 'WEBHOOK_SECRET', 'INGEST_TOKEN', 'ADMIN_TOKEN', 'RESOLUTION_WEBHOOK_URL']) expect(line).toContain(variable);
      expect(line).not.toContain('c2hvcnQ');
      expect(redis.connections).toHaveLength(0);
    } finally {
      redis.server.close();
    }
  });

  it('refuses the in-memory sandbox with NODE_ENV=production, naming GOOGLE_CREDENTIALS_FILE', async () => {
    const redis = await connectionRecorder();
    try {
      const run = await runDaemon({ NODE_ENV: 'production', REDIS_URL: `redis://127.0.0.1:${redis.port}` });
      expect(run.code).toBe(1);
      expect(expectOneLine(run.stderr)).toBe(
        'invalid configuration: GOOGLE_CREDENTIALS_FILE is required with NODE_ENV=production (without it the daemon runs the in-memory Google Calendar sandbox)',
      );
      expect(redis.connections).toHaveLength(0);
    } finally {
      redis.server.close();
    }
  });

  it('names REDIS_URL, credentials masked, when Redis does not answer', async () => {
    const port = await freePort();
    const run = await runDaemon({ REDIS_URL: `redis://admin:s3cret-pw@127.0.0.1:${port}/2`, PORT: String(await freePort()), HOST: '127.0.0.1' });
    expect(run.code).toBe(1);
    const line = expectOneLine(run.stderr);
    expect(line).toBe(`cannot reach Redis at REDIS_URL=redis://***@127.0.0.1:${port}/2: connection refused (ECONNREFUSED)`);
    expect(run.stdout + run.stderr).not.toContain('s3cret-pw');
  });

  it('says the port is in use in one line', async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
    const address = holder.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const run = await runDaemon({ PORT: String(port), HOST: '127.0.0.1', REDIS_URL: 'redis://127.0.0.1:6379/0', REDIS_KEY_PREFIX: '{mwt-startup-port}' });
      expect(run.code).toBe(1);
      expect(expectOneLine(run.stderr)).toBe(
        `cannot listen on 127.0.0.1:${port}: the port is already in use (set PORT to a free port, or stop what holds it)`,
      );
    } finally {
      holder.close();
    }
  });
});
