#!/usr/bin/env node
// The compiled program is built into dist/ by `npm ci` (the `prepare` script) or `npm run build`.
import { main } from '../dist/src/cli.js';

await main(process.argv.slice(2));
