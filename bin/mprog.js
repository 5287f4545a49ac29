#!/usr/bin/env node
import { existsSync } from 'node:fs';

// dist/ is made by `npm run build` in a checkout (an installed package ships it).
if (!existsSync(new URL('../dist/harness/cli/main.js', import.meta.url))) {
  process.stderr.write('mprog: dist/ is missing: in a checkout, run `npm run build` first\n');
  process.exit(2);
}
const { main } = await import('../dist/harness/cli/main.js');
const { EXIT_BUG } = await import('../dist/contract/errors.js');
const { endWithLauncher, exitOnSignals } = await import('../dist/vm/runtime/lifetime.js');
// A reader that went away (`mprog replay --json … | head`) ends the output, not with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}
// A signal ends mprog through exit(), so its exit hooks stop guests and remove scratch files;
// so does the end of the npm that launched it (npx).
exitOnSignals();
endWithLauncher();
const status = await main(process.argv.slice(2));
// A bug ends mprog at once, with what else was under way (conform's other targets): the same exit hooks.
if (status === EXIT_BUG) process.exit(status);
process.exitCode = status;
