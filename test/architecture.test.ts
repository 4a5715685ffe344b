/**
 * The layering rules of src/, checked on the real import graph (README, "Code layout"):
 * - layers import downward only: CLI > server > api > media, jobs > logging > config > core >
 *   store, bus, blob, bundles;
 * - a shared core module (core/<domain>/) never imports core/dialects/ nor a dialect's
 *   repositories (store/repositories/dialects/), a dialect never imports another dialect, and
 *   nothing in core/ imports the composition root core/core.ts;
 * - core/ holds no HTTP (no Fastify, no sockets of a web server);
 * - api/ and media/ reach the database only through core services, never store/;
 * - an HTTP adapter uses the rules of its own dialect only (api/<d> may import
 *   core/dialects/<d>), and the media plane those of none;
 * - media/wire/ is pure bytes: it imports only media/wire/ and built-ins without I/O, and
 *   starts no timer;
 * - no import circle, between files or between folders.
 * Each rule is also run on a small made-up tree that breaks it, so none of them passes by
 * matching nothing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { findCycles, readImportGraph, specifiersOf, type SourceFile } from './helpers/import-graph.js';

/** The compiled test runs from dist/test/; the sources are at the repository root. */
const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** Ranks of the top-level parts of src/: a file imports files of its own part or of lower ranks. */
const RANKS: Record<string, number> = {
  store: 0,
  bus: 0,
  blob: 0,
  bundles: 0,
  core: 1,
  'config.ts': 2,
  'logging.ts': 3,
  media: 4,
  jobs: 4,
  api: 5,
  'server.ts': 6,
  'cli.ts': 7,
};

/** Built-in modules with no I/O, which pure wire code may use. */
const PURE_BUILTINS = new Set(['node:buffer', 'node:crypto', 'node:util', 'node:string_decoder']);
/** Packages that serve or speak HTTP or WebSocket. */
const HTTP_PACKAGES = /^(fastify|@fastify\/|ws$|node:http|node:https|node:http2)/;

/** The top-level part of src/ a file belongs to: a folder, or a file at the root. */
export function partOf(path: string): string {
  return path.split('/')[0]!;
}

/**
 * The folder a file belongs to for the circle check: the parts at the top of src/, and inside
 * core/, api/ and media/ each subfolder (each dialect of core/dialects/ on its own) with what
 * is below it. A file directly in core/, api/ or media/ (core.ts, http.ts, media-plane.ts)
 * stands alone.
 */
export function folderOf(path: string): string {
  const parts = path.split('/');
  if (parts.length === 1) return path;
  if (!['core', 'api', 'media'].includes(parts[0]!)) return parts[0]!;
  if (parts.length === 2) return path;
  if (parts[0] === 'core' && parts[1] === 'dialects' && parts.length > 3) return parts.slice(0, 3).join('/');
  return parts.slice(0, 2).join('/');
}

function dialectOf(path: string): string | undefined {
  return /^core\/dialects\/([^/]+)\//.exec(path)?.[1];
}

/** The dialect whose tables a repository file holds: store/repositories/dialects/<d>.ts. */
function repositoryDialectOf(path: string): string | undefined {
  return /^store\/repositories\/dialects\/([^/.]+)\.ts$/.exec(path)?.[1];
}

/** Every broken rule, as one line each; empty when the tree keeps them all. */
export function violations(files: ReadonlyMap<string, SourceFile>): string[] {
  const found: string[] = [];
  for (const file of files.values()) {
    const { path } = file;
    const part = partOf(path);
    const rank = RANKS[part];
    if (rank === undefined) {
      found.push(`${path}: ${part} has no place in the layers; give it a rank`);
      continue;
    }
    for (const target of file.imports) {
      const targetPart = partOf(target);
      const targetRank = RANKS[targetPart];
      if (targetPart !== part && targetRank !== undefined && targetRank >= rank) {
        found.push(`${path} imports ${target}: ${part} may not import ${targetPart}, which is not below it`);
      }
      const targetDialect = dialectOf(target);
      if (path.startsWith('core/') && path !== 'core/core.ts' && target === 'core/core.ts') {
        found.push(`${path} imports ${target}: core modules take the services they need, not the composition root`);
      }
      if (targetDialect !== undefined) {
        const ownDialect = dialectOf(path);
        if (path.startsWith('core/') && path !== 'core/core.ts' && ownDialect === undefined) {
          found.push(`${path} imports ${target}: a shared core module never imports core/dialects/`);
        }
        if (ownDialect !== undefined && ownDialect !== targetDialect) {
          found.push(`${path} imports ${target}: the ${ownDialect} dialect may not use the rules of ${targetDialect}`);
        }
        const adapter = /^api\/([^/]+)\//.exec(path)?.[1];
        if (adapter !== undefined && adapter !== targetDialect) {
          found.push(`${path} imports ${target}: api/${adapter} may use core/dialects/${adapter} only`);
        }
        if (part === 'media') found.push(`${path} imports ${target}: the media plane uses shared core modules only`);
      }
      const tablesOf = repositoryDialectOf(target);
      if (tablesOf !== undefined && path.startsWith('core/') && path !== 'core/core.ts' && dialectOf(path) !== tablesOf) {
        found.push(`${path} imports ${target}: only core/dialects/${tablesOf} reads the ${tablesOf} tables`);
      }
      if ((part === 'api' || part === 'media') && targetPart === 'store') {
        found.push(`${path} imports ${target}: ${part}/ reaches the database through core services only`);
      }
      if (path.startsWith('media/wire/') && !target.startsWith('media/wire/')) {
        found.push(`${path} imports ${target}: media/wire/ imports nothing outside media/wire/`);
      }
    }
    for (const name of file.packages) {
      if (part === 'core' && HTTP_PACKAGES.test(name)) found.push(`${path} imports ${name}: core/ holds no HTTP`);
      if (path.startsWith('media/wire/') && !PURE_BUILTINS.has(name)) {
        found.push(`${path} imports ${name}: media/wire/ uses built-ins without I/O only (${[...PURE_BUILTINS].join(', ')})`);
      }
    }
    if (path.startsWith('media/wire/') && /\b(setTimeout|setInterval|setImmediate)\s*\(/.test(file.text)) {
      found.push(`${path} starts a timer: media/wire/ is pure code`);
    }
  }

  const fileEdges = new Map([...files.values()].map((f) => [f.path, f.imports]));
  for (const cycle of findCycles(fileEdges)) found.push(`import circle between files: ${cycle.join(' -> ')}`);

  for (const [name, of] of [
    ['folders', folderOf],
    ['top-level parts', partOf],
  ] as const) {
    const edges = new Map<string, Set<string>>();
    for (const file of files.values()) {
      for (const target of file.imports) {
        const from = of(file.path);
        const to = of(target);
        if (from === to) continue;
        if (!edges.has(from)) edges.set(from, new Set());
        edges.get(from)!.add(to);
      }
    }
    for (const cycle of findCycles(edges)) found.push(`import circle between ${name}: ${cycle.join(' -> ')}`);
  }
  return found;
}

/** A made-up tree: each entry is a file and the source it holds. */
function tree(sources: Record<string, string>): Map<string, SourceFile> {
  const files = new Map<string, SourceFile>();
  for (const [path, text] of Object.entries(sources)) {
    const imports: string[] = [];
    const packages: string[] = [];
    for (const specifier of specifiersOf(text)) {
      if (!specifier.startsWith('.')) packages.push(specifier);
      else imports.push(new URL(specifier, `file:///${path}`).pathname.slice(1).replace(/\.js$/, '.ts'));
    }
    files.set(path, { path, text, imports, packages });
  }
  return files;
}

describe('architecture of src/', () => {
  it('keeps every layering rule, and has no import circle between files or folders', () => {
    const files = readImportGraph(SRC);
    assert.ok(files.size > 100, `read ${files.size} files from ${SRC}`);
    assert.deepEqual(violations(files), []);
  });
});

describe('the architecture rules themselves', () => {
  it('read every kind of import: multi-line, type-only, re-exports, side effects, dynamic; not string constants', () => {
    const text = [
      "import {\n  a,\n  type B,\n} from './a.js';",
      "import type { C } from '../c.js';",
      "export { d } from './d.js';",
      "import './e.js';",
      "type F = typeof import('./f.js');",
      "export const g = 'not-a-module';",
      " * a comment that says from 'nowhere' is not a statement",
    ].join('\n');
    assert.deepEqual(specifiersOf(text).sort(), ['../c.js', './a.js', './d.js', './e.js', './f.js']);
  });

  it('find circles, and only circles', () => {
    assert.deepEqual(findCycles(new Map([['a', ['b']], ['b', ['c']], ['c', []]])), []);
    assert.deepEqual(findCycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]])), [['a', 'b', 'c', 'a']]);
    assert.deepEqual(findCycles(new Map([['a', ['a']]])), [['a', 'a']]);
  });

  it('report a shared core module that imports a dialect or its tables, and dialects that import each other', () => {
    const found = violations(
      tree({
        'core/streams/streams.ts': "import { x } from '../dialects/kickflip/users.js';\nimport type { MsStreamRow } from '../../store/repositories/dialects/multistreamer.js';",
        'core/dialects/kickflip/users.ts': "import { y } from '../multistreamer/streams.js';\nimport type { OauthTokenRow } from '../../../store/repositories/dialects/kickflip.js';",
        'core/dialects/multistreamer/streams.ts': '',
        'store/repositories/dialects/multistreamer.ts': '',
        'store/repositories/dialects/kickflip.ts': '',
        'core/core.ts': "import { x } from './dialects/kickflip/users.js';",
      }),
    );
    assert.deepEqual(found, [
      'core/streams/streams.ts imports core/dialects/kickflip/users.ts: a shared core module never imports core/dialects/',
      'core/streams/streams.ts imports store/repositories/dialects/multistreamer.ts: only core/dialects/multistreamer reads the multistreamer tables',
      'core/dialects/kickflip/users.ts imports core/dialects/multistreamer/streams.ts: the kickflip dialect may not use the rules of multistreamer',
    ]);
  });

  it('report api/ or media/ importing store/, an adapter using another dialect, HTTP in core/, and an upward import', () => {
    const found = violations(
      tree({
        'api/rig/routes.ts': "import { s } from '../../store/store.js';\nimport { k } from '../../core/dialects/kickflip/users.js';",
        'media/upload/ingest.ts': "import { s } from '../../store/store.js';",
        'store/store.ts': '',
        'core/dialects/kickflip/users.ts': '',
        'core/chat/socket.ts': "import type { FastifyInstance } from 'fastify';",
        'core/streams/streams.ts': "import { m } from '../../media/media-plane.js';",
        'media/media-plane.ts': '',
      }),
    );
    assert.deepEqual(found, [
      'api/rig/routes.ts imports store/store.ts: api/ reaches the database through core services only',
      'api/rig/routes.ts imports core/dialects/kickflip/users.ts: api/rig may use core/dialects/rig only',
      'media/upload/ingest.ts imports store/store.ts: media/ reaches the database through core services only',
      'core/chat/socket.ts imports fastify: core/ holds no HTTP',
      'core/streams/streams.ts imports media/media-plane.ts: core may not import media, which is not below it',
    ]);
  });

  it('report I/O, timers and outside imports in media/wire/', () => {
    const found = violations(
      tree({
        'media/wire/flv.ts': "import { connect } from 'node:net';\nimport { x } from '../live/live-stream.js';\nexport function f() { setTimeout(() => {}, 1); }",
        'media/live/live-stream.ts': '',
        'media/wire/amf0.ts': "import { createHash } from 'node:crypto';",
      }),
    );
    assert.deepEqual(found, [
      'media/wire/flv.ts imports media/live/live-stream.ts: media/wire/ imports nothing outside media/wire/',
      'media/wire/flv.ts imports node:net: media/wire/ uses built-ins without I/O only (node:buffer, node:crypto, node:util, node:string_decoder)',
      'media/wire/flv.ts starts a timer: media/wire/ is pure code',
    ]);
  });

  it('report circles between files, between folders and between top-level parts', () => {
    const found = violations(
      tree({
        'api/rig/plugin.ts': "import { r } from './routes/streams.js';",
        'api/rig/routes/streams.ts': "import type { RigContext } from '../plugin.js';",
        'core/kernel/events.ts': "import type { RelayStatus } from '../relays/status-board.js';",
        'core/relays/status-board.ts': "import { emit } from '../kernel/context.js';",
        'core/kernel/context.ts': '',
        'jobs/poller.ts': "import { m } from '../media/media-plane.js';",
        'media/media-plane.ts': "import { p } from '../jobs/poller.js';",
      }),
    );
    assert.deepEqual(found, [
      'jobs/poller.ts imports media/media-plane.ts: jobs may not import media, which is not below it',
      'media/media-plane.ts imports jobs/poller.ts: media may not import jobs, which is not below it',
      'import circle between files: api/rig/plugin.ts -> api/rig/routes/streams.ts -> api/rig/plugin.ts',
      'import circle between files: jobs/poller.ts -> media/media-plane.ts -> jobs/poller.ts',
      'import circle between folders: core/kernel -> core/relays -> core/kernel',
      'import circle between folders: jobs -> media/media-plane.ts -> jobs',
      'import circle between top-level parts: jobs -> media -> jobs',
    ]);
  });
});
