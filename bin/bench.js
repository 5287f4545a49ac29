#!/usr/bin/env node
import { main } from '../dist/harness/bench/main.js';
process.exitCode = await main(process.argv.slice(2));
