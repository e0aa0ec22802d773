import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const REPO_ROOT = resolve(__dirname, '../../..');
const BUILD_ROOT = join(REPO_ROOT, 'test/bench/.build');

/** The daemon the bench runs: what the Dockerfile runs (compiled JavaScript), frozen for the whole run. */
export interface DaemonBuild {
  /** `…/src/main.js` of the build. */
  entry: string;
  /** The commit the working tree was on, and whether it had changes (they are in the build). */
  commit: string;
  dirty: boolean;
}

/**
 * Compiles the daemon once (tsconfig.build.json, as `npm run build` and the Dockerfile do) into
 * test/bench/.build/<time>, under the repository so its imports resolve from node_modules. Every phase's daemons run
 * this build: the working tree may move during an hour-long run, the figures stay those of one code. Older builds
 * are removed.
 */
export function buildDaemon(): DaemonBuild {
  rmSync(BUILD_ROOT, { recursive: true, force: true });
  const outDir = join(BUILD_ROOT, new Date().toISOString().replace(/[:.]/g, '-'));
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: REPO_ROOT, stdio: 'inherit' });
  const git = (...args: string[]) => execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  return { entry: join(outDir, 'src/main.js'), commit: git('rev-parse', '--short', 'HEAD'), dirty: git('status', '--porcelain', '--', 'src', 'config').length > 0 };
}

let current: DaemonBuild | null = null;

/** Daemons started from now on run this build (run.ts sets it once). */
export function useDaemonBuild(build: DaemonBuild): void {
  current = build;
}

/** Node arguments that start the daemon: the build set, else the sources through tsx (tools that need no build). */
export function daemonEntryArgs(): string[] {
  return current ? [current.entry] : ['--import', 'tsx', 'src/main.ts'];
}
