/**
 * The layering rules of src/, checked on the real import graph (README, "Code layout"):
 * - layers import downward only: CLI > server > api > media, jobs > logging > config > core >
 *   store, bus, blob, bundles;
 * - a shared core module (core/<domain>/) never imports core/dialects/ nor a dialect's
 *   repositories (store/repositories/dialects/), a dialect never imports another dialect, and
 *   nothing in core/ imports the composition root core/core.ts;
 * - core/ holds no HTTP (no Fastify, no sockets of a web server);
 * - api/ and media/ reach the database only through core services: no store/ import, no
 *   `ctx.store`; and a shared core module reads no dialect's tables through `store.<repository>`;
 * - an HTTP adapter uses the rules of its own dialect only (api/<d> may import
 *   core/dialects/<d>), and the media plane those of none (nor all of Core);
 * - media/wire/ is pure bytes: it imports only media/wire/ and built-ins without I/O, starts
 *   no timer, fetches nothing and touches no process state;
 * - no import circle: between files, between the domain folders, or between sibling folders.
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

/**
 * The repositories of dialect tables by the name the core reaches them at (`store.msStreams`):
 * read from store/store.ts, which declares each (`readonly msStreams: MsStreamRepository`) and
 * imports its class from the repository file.
 */
function dialectRepositories(files: ReadonlyMap<string, SourceFile>): Map<string, string> {
  const store = files.get('store/store.ts');
  const byName = new Map<string, string>();
  if (!store) return byName;
  const classDialect = new Map<string, string>();
  for (const match of store.text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'\.\/repositories\/dialects\/([^/.']+)\.js'/g)) {
    for (const name of match[1]!.split(',')) classDialect.set(name.replace(/^\s*type\s+/, '').trim(), match[2]!);
  }
  for (const match of store.text.matchAll(/readonly (\w+): (\w+);/g)) {
    const dialect = classDialect.get(match[2]!);
    if (dialect !== undefined) byName.set(match[1]!, dialect);
  }
  return byName;
}

/** The folder a file is in. */
function directoryOf(path: string): string {
  return path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '.';
}

function isWithin(folder: string, other: string): boolean {
  return folder === other || folder.startsWith(`${other}/`) || other === '.';
}

/** Every broken rule, as one line each; empty when the tree keeps them all. */
export function violations(files: ReadonlyMap<string, SourceFile>): string[] {
  const found: string[] = [];
  const dialectTables = dialectRepositories(files);
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
      if (part === 'media' && target === 'core/core.ts') {
        found.push(`${path} imports ${target}: the media plane declares the core calls it makes instead of taking all of Core`);
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
    if (path.startsWith('media/wire/') && /\b(setTimeout|setInterval|setImmediate|queueMicrotask|fetch)\s*\(|\bprocess\./.test(file.text)) {
      found.push(`${path} starts a timer, fetches or touches the process: media/wire/ is pure code`);
    }
    if ((part === 'api' || part === 'media') && /\bctx\.store\b/.test(file.text)) {
      found.push(`${path} uses ctx.store: ${part}/ reaches the database through core services only`);
    }
    if (part === 'core' && path !== 'core/core.ts') {
      for (const [name, dialect] of dialectTables) {
        if (dialectOf(path) !== dialect && new RegExp(`\\b(?:store|tx)\\.${name}\\b`).test(file.text)) {
          found.push(`${path} reads store.${name}: only core/dialects/${dialect} reads the ${dialect} tables`);
        }
      }
    }
  }

  const fileEdges = new Map([...files.values()].map((f) => [f.path, f.imports]));
  for (const cycle of findCycles(fileEdges)) found.push(`import circle between files: ${cycle.join(' -> ')}`);

  // Between the domain folders (core/<domain>, each dialect, api/<adapter>, media/<part>, the
  // parts at the top), and between folders that are not inside one another (a plugin and its
  // routes/ subfolder may import each other; media/wire/rtmp and media/wire/hls may not).
  const folderEdges = new Map<string, Set<string>>();
  const siblingEdges = new Map<string, Set<string>>();
  const addEdge = (edges: Map<string, Set<string>>, from: string, to: string) => {
    if (!edges.has(from)) edges.set(from, new Set());
    edges.get(from)!.add(to);
  };
  for (const file of files.values()) {
    for (const target of file.imports) {
      if (folderOf(file.path) !== folderOf(target)) addEdge(folderEdges, folderOf(file.path), folderOf(target));
      const from = directoryOf(file.path);
      const to = directoryOf(target);
      if (!isWithin(from, to) && !isWithin(to, from)) addEdge(siblingEdges, from, to);
    }
  }
  for (const cycle of findCycles(folderEdges)) found.push(`import circle between folders: ${cycle.join(' -> ')}`);
  for (const cycle of findCycles(siblingEdges)) found.push(`import circle between sibling folders: ${cycle.join(' -> ')}`);
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
      'media/wire/flv.ts starts a timer, fetches or touches the process: media/wire/ is pure code',
    ]);
  });

  it('report circles between files, between domain folders and between sibling folders', () => {
    const found = violations(
      tree({
        'api/rig/plugin.ts': "import { r } from './routes/streams.js';",
        'api/rig/routes/streams.ts': "import type { RigContext } from '../plugin.js';",
        'core/kernel/events.ts': "import type { RelayStatus } from '../relays/status-board.js';",
        'core/relays/status-board.ts': "import { emit } from '../kernel/context.js';",
        'core/kernel/context.ts': '',
        'media/wire/rtmp/messages.ts': "import { p } from '../hls/playlist.js';",
        'media/wire/hls/playlist.ts': "import { m } from '../rtmp/chunks.js';",
        'media/wire/rtmp/chunks.ts': '',
      }),
    );
    assert.deepEqual(found, [
      'import circle between files: api/rig/plugin.ts -> api/rig/routes/streams.ts -> api/rig/plugin.ts',
      'import circle between folders: core/kernel -> core/relays -> core/kernel',
      'import circle between sibling folders: core/kernel -> core/relays -> core/kernel',
      'import circle between sibling folders: media/wire/hls -> media/wire/rtmp -> media/wire/hls',
    ]);
  });

  it('report a database reached around the core services, and a media plane holding all of Core', () => {
    const found = violations(
      tree({
        'store/store.ts': [
          "import { StreamRepository } from './repositories/streams.js';",
          "import { MsStreamRepository, type MsUserRepository } from './repositories/dialects/multistreamer.js';",
          'export class Repositories {',
          '  readonly streams: StreamRepository;',
          '  readonly msStreams: MsStreamRepository;',
          '  readonly msUsers: MsUserRepository;',
          '}',
        ].join('\n'),
        'store/repositories/streams.ts': '',
        'store/repositories/dialects/multistreamer.ts': '',
        'core/broadcasts/go-live.ts': 'const row = await this.ctx.store.msStreams.findByStream(id);\nconst s = await this.ctx.store.streams.findById(id);',
        'core/streams/sharing.ts': 'await this.ctx.store.transaction((tx) => tx.msUsers.list());',
        'core/dialects/multistreamer/multistreams.ts': 'const row = await this.ctx.store.msStreams.findByStream(id);',
        'api/kickflip/routes.ts': 'const rows = await core.ctx.store.streams.list();',
        'media/upload/s3/plugin.ts': "import type { Core } from '../../../core/core.js';",
        'core/core.ts': '',
      }),
    );
    assert.deepEqual(found, [
      'core/broadcasts/go-live.ts reads store.msStreams: only core/dialects/multistreamer reads the multistreamer tables',
      'core/streams/sharing.ts reads store.msUsers: only core/dialects/multistreamer reads the multistreamer tables',
      'api/kickflip/routes.ts uses ctx.store: api/ reaches the database through core services only',
      'media/upload/s3/plugin.ts imports core/core.ts: the media plane declares the core calls it makes instead of taking all of Core',
    ]);
  });

  it('refuse to read an import it cannot parse, rather than miss it', () => {
    assert.throws(() => specifiersOf("import {\n  a, // the stream's id\n  b,\n} from './a.js';"), /1 import statements begin a line but 0 could be read/);
  });
});
