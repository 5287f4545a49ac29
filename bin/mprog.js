#!/usr/bin/env node
import { main } from '../dist/harness/cli/main.js';
import { exitOnSignals } from '../dist/vm/lifetime.js';
// A signal ends mprog through exit(), so its exit hooks stop guests and remove scratch files.
exitOnSignals();
process.exitCode = await main(process.argv.slice(2));
