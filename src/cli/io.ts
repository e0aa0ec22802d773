/** Where a command writes, and what it reads: the process's streams and environment, or a test's. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** The working directory (for `.env`). */
  cwd: string;
}

/** A check's verdict: `warn` is worth reading but does not fail the command. */
export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
}

/** What every command returns: its machine-readable result and the lines a person reads. */
export interface CommandResult {
  ok: boolean;
  json: Record<string, unknown>;
  lines: string[];
}

/** A problem with the command line or the configuration: one line, exit 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}
