#!/usr/bin/env node
// The `neuronode` command (src/cli/main.ts). In a checkout it runs the TypeScript source through tsx;
// an installed package without tsx runs the build (npm run build).
const { join } = require('node:path');
let main;
try {
  require.resolve('tsx/cjs');
  require('tsx/cjs');
  main = require(join(__dirname, '..', 'src', 'cli', 'main.ts')).main;
} catch (err) {
  if (err.code !== 'MODULE_NOT_FOUND') throw err;
  main = require(join(__dirname, '..', 'dist', 'src', 'cli', 'main.js')).main;
}
main();
