#!/usr/bin/env node
import { main } from './main';

// `npx maintenance-windows <command>` (dist/src/cli/bin.js); from source: `npm run cli -- <command>`.
// Exits once the output is written: pooled connections (HTTP keep-alive) must not hold the command open.
main(process.argv.slice(2)).then((code) => {
  process.stdout.write('', () => process.exit(code));
});
