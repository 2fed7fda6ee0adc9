#!/usr/bin/env node
// The operator CLI (package bin): ops/main.ts run through tsx, like the project's other tools.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const result = spawnSync(
  process.execPath,
  [require.resolve('tsx/cli'), path.join(__dirname, '..', 'ops', 'main.ts'), ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
