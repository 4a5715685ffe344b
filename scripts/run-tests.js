// Runs every compiled test file under dist/test with node's test runner. (Node 20's
// `--test` does not expand glob patterns itself, so the files are listed here.) A compiled
// test whose source is gone (moved or deleted since an earlier build) is not run.
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.js') ? [path] : [];
  });
}

const hasSource = (compiled) => existsSync(relative('dist', compiled).replace(/\.js$/, '.ts'));

const only = process.argv.slice(2);
const files = only.length > 0 ? only : testFiles('dist/test').filter(hasSource).sort();
const result = spawnSync(process.execPath, ['--enable-source-maps', '--test', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
