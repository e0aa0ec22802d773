import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs, parseEnv } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../config';
import { doctor } from './doctor';
import { CliError, type Check, type CliIo, type CommandResult } from './io';
import { preview } from './preview';
import { redeliver } from './redeliver';
import { testWebhook } from './test-webhook';

export const USAGE = `Usage: maintenance-windows <command> [options]

Commands:
  doctor [--user EMAIL]            Check Redis (answers, noeviction, persistence), the Google key, a token per
                                   scope for EMAIL (naming any scope missing from domain-wide delegation),
                                   settings and freeBusy, PUBLIC_URL (HTTPS) and Fleet (when FLEET_URL is set).
  preview --email EMAIL [--policy-ids 7,9] [--team-id N] [--at ISO-8601]
                                   Where a window would land for the owner now (asks freeBusy, writes nothing).
  test-webhook [--url URL]         Send a signed sample resolution webhook (webhook-id test_…) to
                                   RESOLUTION_WEBHOOK_URL or URL, and print the answer.
  redeliver <id> [--url URL]       Ask the running daemon (default http://localhost:$PORT) to send a fired
                                   remediation's resolution webhook again (uses ADMIN_TOKEN).

Options:
  --json             Machine-readable output (one JSON document on stdout).
  --env-file PATH    Read variables from this file (default ./.env when present); the environment wins.
  -h, --help         This help.

Configuration: the daemon's own environment variables (see .env.example). Exit status 0 on success, 1 on failure.
`;

const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  'env-file': { type: 'string' },
  user: { type: 'string' },
  email: { type: 'string' },
  'policy-ids': { type: 'string' },
  'team-id': { type: 'string' },
  at: { type: 'string' },
  url: { type: 'string' },
} as const;

/** The process's io. */
export function processIo(): CliIo {
  return { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t), env: process.env, cwd: process.cwd() };
}

/** Runs one command line (without `node` and the script); resolves with the exit status. Never throws. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  let json = argv.includes('--json');
  try {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    json = values.json ?? false;
    const [command, ...rest] = positionals;
    if (values.help || command === 'help') {
      io.stdout(USAGE);
      return 0;
    }
    if (!command) throw new CliError('a command is required (doctor, preview, test-webhook, redeliver); see --help');
    const config = configFrom(io, values['env-file']);
    const result = await run(command, rest, values, config);
    if (json) io.stdout(`${JSON.stringify(result.json, null, 2)}\n`);
    else io.stdout(result.lines.map((l) => `${l}\n`).join(''));
    return result.ok ? 0 : 1;
  } catch (err) {
    const known = err instanceof CliError || err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    const message = known ? (err as Error).message : `unexpected error: ${(err as Error).stack ?? String(err)}`;
    if (json) io.stdout(`${JSON.stringify({ ok: false, error: message }, null, 2)}\n`);
    io.stderr(`maintenance-windows: ${message}\n`);
    return 1;
  }
}

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

async function run(command: string, args: string[], values: Values, config: Config): Promise<CommandResult> {
  const noMoreArgs = () => {
    if (args.length > 0) throw new CliError(`${command} takes no argument ${JSON.stringify(args[0])}`);
  };
  switch (command) {
    case 'doctor': {
      noMoreArgs();
      const checks = await doctor(config, { user: values.user });
      const ok = checks.every((c) => c.status !== 'fail');
      const counts = (s: Check['status']) => checks.filter((c) => c.status === s).length;
      return {
        ok,
        json: { ok, checks },
        lines: [
          ...checks.map((c) => `${c.status.toUpperCase().padEnd(4)}  ${c.name.padEnd(40)}  ${c.detail}`),
          `${ok ? 'ok' : 'FAILED'}: ${counts('pass')} passed, ${counts('warn')} warnings, ${counts('fail')} failed`,
        ],
      };
    }
    case 'preview': {
      noMoreArgs();
      if (!values.email) throw new CliError('preview needs --email EMAIL');
      const policyIds = values['policy-ids'] ? values['policy-ids'].split(',').map((p) => wholeNumber('--policy-ids', p)) : [];
      const teamId = values['team-id'] !== undefined ? wholeNumber('--team-id', values['team-id']) : undefined;
      const now = values.at !== undefined ? instant(values.at) : Date.now();
      const p = await preview(config, { email: values.email, policyIds, teamId, now });
      return {
        ok: true,
        json: { ok: true, preview: p },
        lines: [
          `owner:     ${p.email}`,
          `time zone: ${p.time_zone}${p.time_zone_fallback ? ` (fallback: calendar time zone ${p.time_zone_fallback})` : ''}`,
          `day:       ${p.day}`,
          `slot:      ${p.start} – ${p.end}`,
          ...(p.only_time_left ? ['note:      the day is full: this is the only time left (the last slot, double-booked)'] : []),
          ...(p.policy_ids.length > 0 || p.team_id !== null ? [`rules:     the same for every team and policy today (policies ${p.policy_ids.join(',') || '-'}, team ${p.team_id ?? '-'})`] : []),
          'nothing was written (no event, no remediation)',
        ],
      };
    }
    case 'test-webhook': {
      noMoreArgs();
      const r = await testWebhook(config, { url: values.url, now: Date.now() });
      return {
        ok: r.ok,
        json: { ...r },
        lines: [
          `sent ${r.signed ? 'signed' : 'UNSIGNED (no WEBHOOK_SECRET)'} sample resolution webhook ${r.webhook_id} to ${r.url}`,
          r.status !== null ? `answer: HTTP ${r.status}${r.ok ? '' : ' (not 2xx: the daemon would retry)'}` : `no answer: ${r.error}`,
          `body: ${JSON.stringify(r.payload)}`,
        ],
      };
    }
    case 'redeliver': {
      if (args.length !== 1) throw new CliError('redeliver needs exactly one remediation id');
      const r = await redeliver(config, { id: args[0], url: values.url });
      const b = r.body;
      return {
        ok: r.ok,
        json: { ok: r.ok, status: r.status, ...b },
        lines: [
          r.ok
            ? `redelivery ${String(b.delivery)} of ${String(b.remediation)} started: webhook-id ${String(b.webhook_id)}`
            : `redelivery refused: HTTP ${r.status}${b.code ? ` ${String(b.code)}` : ''}: ${String(b.message ?? '')}`,
        ],
      };
    }
    default:
      throw new CliError(`unknown command ${JSON.stringify(command)} (doctor, preview, test-webhook, redeliver); see --help`);
  }
}

/** The daemon's configuration from the environment over `.env` (or --env-file). */
function configFrom(io: CliIo, envFile: string | undefined): Config {
  const file = envFile !== undefined ? resolve(io.cwd, envFile) : resolve(io.cwd, '.env');
  let fromFile: NodeJS.ProcessEnv = {};
  if (envFile !== undefined || existsSync(file)) {
    try {
      fromFile = parseEnv(readFileSync(file, 'utf8')) as NodeJS.ProcessEnv;
    } catch (err) {
      throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
    }
  }
  return loadConfig({ ...fromFile, ...io.env });
}

function wholeNumber(option: string, value: string): number {
  if (!/^\d{1,15}$/.test(value.trim())) throw new CliError(`${option} must be whole numbers (got ${JSON.stringify(value)})`);
  return Number(value.trim());
}

function instant(value: string): number {
  const ms = Date.parse(value);
  if (!/[zZ]|[+-]\d\d:?\d\d$/.test(value) || Number.isNaN(ms)) throw new CliError(`--at must be an ISO-8601 instant with an offset (got ${JSON.stringify(value)})`);
  return ms;
}
