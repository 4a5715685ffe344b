/**
 * The OpenAPI document of streamdelta's own API (`/openapi.json`) against the running server: it
 * is a valid OpenAPI 3.1 document by a real validator (@apidevtools/swagger-parser); every route
 * the server registered under /video/v1 and /system/v1 is in it with its method, and it names no
 * route the server does not have; each operation documents its request body, its answer and its
 * path parameters; no route of the other APIs the server speaks leaks into it; and `/docs` is a
 * page that loads everything it needs, on a server reached over plain HTTP too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { FastifyInstance } from 'fastify';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const DOCUMENTED = ['/video/v1/', '/system/v1/'];
const isDocumented = (path: string) => DOCUMENTED.some((prefix) => path.startsWith(prefix));
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/**
 * The operations of Mux's live API that take a JSON body (what the Mux SDK sends one to); every
 * other operation takes none.
 */
const WITH_BODY = new Set([
  'POST /video/v1/live-streams',
  'PATCH /video/v1/live-streams/{id}',
  'POST /video/v1/live-streams/{id}/playback-ids',
  'POST /video/v1/live-streams/{id}/simulcast-targets',
  'POST /video/v1/assets/{id}/playback-ids',
  'POST /system/v1/webhooks',
  'PATCH /system/v1/webhooks/{id}',
]);

/** The one operation whose answer is not JSON: the Server-Sent Events stream. */
const EVENT_STREAM = 'GET /system/v1/events';

interface Route {
  /** Fastify's form: `/video/v1/live-streams/:id`. */
  path: string;
  method: string;
}

/**
 * Every route the server registered, read from Fastify's own route tree (`printRoutes`), one
 * line per node: its depth in the tree, its part of the path, and its methods when a route ends
 * there. Fastify adds a HEAD route beside each GET by itself; those are left out.
 */
function registeredRoutes(app: FastifyInstance): Route[] {
  const routes: Route[] = [];
  const parents: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    if (line.trim() === '') continue;
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(.+?)(?: \(([A-Z]+(?:, [A-Z]+)*)\))?$/.exec(line);
    assert.ok(match, `a line of Fastify's route tree this test cannot read: ${JSON.stringify(line)}`);
    const depth = match[1]!.length / 4;
    const path = (depth === 0 ? '' : parents[depth - 1]!) + match[2]!;
    parents.length = depth;
    parents.push(path);
    const methods = match[3]?.split(', ') ?? [];
    for (const method of methods) if (!(method === 'HEAD' && methods.includes('GET'))) routes.push({ path, method });
  }
  return routes;
}

const toOpenApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');
const toFastifyPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');

describe('the OpenAPI document of the live API', () => {
  let server: TestServer;
  let doc: any;
  let routes: Route[];

  before(async () => {
    server = await startTestServer('sqlite');
    const reply = await server.request('GET', '/openapi.json');
    assert.equal(reply.status, 200);
    assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
    doc = reply.json;
    routes = registeredRoutes(server.running.http);
  });

  after(async () => {
    await server?.close();
  });

  /** Every operation of the document as `METHOD /path`, with the operation object. */
  function operations(): [string, string, string, any][] {
    const list: [string, string, string, any][] = [];
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const method of METHODS) if (item[method] !== undefined) list.push([`${method.toUpperCase()} ${path}`, method.toUpperCase(), path, item[method]]);
    }
    return list;
  }

  test('/openapi.json is an OpenAPI 3.1 document a validator accepts', async () => {
    assert.match(doc.openapi, /^3\.1\./);
    // swagger-parser 13 validates 3.1 documents against the OpenAPI 3.1 schema.
    await SwaggerParser.validate(structuredClone(doc));
    // The validator is not a formality: it refuses a document that is broken.
    const broken = structuredClone(doc);
    broken.paths['/video/v1/live-streams'].get.responses = 'none';
    await assert.rejects(SwaggerParser.validate(broken));
    const noInfo = structuredClone(doc);
    delete noInfo.info;
    await assert.rejects(SwaggerParser.validate(noInfo));
    assert.equal(doc.servers[0].url, server.running.config.publicUrl.replace(/\/+$/, ''));
  });

  test('every route of /video/v1 and /system/v1 is documented with its method, and every documented one exists', () => {
    // The route tree is read right: each route read from it is one Fastify has.
    for (const route of routes) {
      if (!/[(*|]/.test(route.path)) assert.ok(server.running.http.hasRoute({ method: route.method as 'GET', url: route.path }), `${route.method} ${route.path}`);
    }
    const registered = routes.filter((r) => isDocumented(r.path)).map((r) => `${r.method} ${toOpenApiPath(r.path)}`).sort();
    assert.ok(registered.length >= 30, `the live API's routes were found (${registered.length})`);
    const documented = operations().map(([name]) => name).sort();
    assert.deepEqual(documented, registered);

    for (const [name, method, path] of operations()) {
      const found = server.running.http.findRoute({ method: method as 'GET', url: toFastifyPath(path) });
      assert.ok(found, `${name} is a route of the server`);
      // Its path parameters are the route's own, by name.
      assert.deepEqual(Object.keys(found.params).sort(), [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort(), name);
    }
  });

  test('each operation documents its body, its answer and its path parameters', () => {
    for (const [name, method, path, op] of operations()) {
      assert.ok(typeof op.summary === 'string' && op.summary.length > 0, `${name} has a summary`);

      if (WITH_BODY.has(name)) {
        const schema = op.requestBody?.content?.['application/json']?.schema;
        assert.equal(schema?.type, 'object', `${name} documents its JSON body`);
        assert.ok(Object.keys(schema.properties ?? {}).length > 0, `${name} names the fields of its body`);
      } else {
        assert.equal(op.requestBody, undefined, `${name} takes no body`);
      }

      const success = Object.keys(op.responses).filter((code) => /^2\d\d$/.test(code));
      assert.equal(success.length, 1, `${name} documents one success answer: ${success.join(', ')}`);
      const code = success[0]!;
      const answer = op.responses[code];
      if (method === 'DELETE') {
        assert.equal(code, '204', `${name} answers 204`);
        assert.equal(answer.content, undefined, `${name} answers with no body`);
      } else if (name === EVENT_STREAM) {
        assert.equal(code, '200');
        assert.ok(answer.content?.['text/event-stream']?.schema, `${name} is documented as an event stream`);
      } else {
        const schema = answer.content?.['application/json']?.schema;
        assert.equal(schema?.type, 'object', `${name} documents its JSON answer`);
        assert.ok(schema.properties?.data, `${name} answers in Mux's { data } envelope`);
        assert.match(code, /^20[01]$/, `${name} answers 200 or 201, not ${code}`);
      }
      for (const status of ['400', '401', '403', '404']) {
        const error = op.responses[status]?.content?.['application/json']?.schema;
        assert.ok(error?.properties?.error, `${name} documents its ${status} in Mux's error shape`);
      }

      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();
      const declared = (op.parameters ?? []).filter((p: any) => p.in === 'path');
      assert.deepEqual(declared.map((p: any) => p.name).sort(), inPath, `${name} declares its path parameters`);
      for (const p of declared) {
        assert.equal(p.required, true, `${name}: ${p.name} is required`);
        assert.equal(p.schema?.type, 'string', `${name}: ${p.name} has a schema`);
      }
    }
  });

  test('no route of another API the server speaks is in the document', () => {
    const elsewhere = routes.filter((r) => !isDocumented(r.path)).map((r) => toOpenApiPath(r.path));
    // The other APIs are there to leak: Kickflip's, rig's, Stream API's, the S3 uploads, HLS, the docs themselves.
    for (const path of ['/api/1.2/stream/start', '/streams', '/service/session/create', '/s3', '/hls/{streamId}/index.m3u8', '/openapi.json', '/docs']) {
      assert.ok(elsewhere.includes(path), `the server has ${path}`);
    }
    for (const path of Object.keys(doc.paths)) assert.ok(isDocumented(path), `${path} is not a path of the live API`);
    for (const path of elsewhere) assert.equal(doc.paths[path], undefined, `${path} leaked into the document`);
    const text = JSON.stringify(doc);
    assert.doesNotMatch(text, /\/api\/1\.2|kickflip|multistreamer|"\/streams/i);
  });

  test('/docs is a page that loads its scripts, styles and this document, over plain HTTP too', async () => {
    const page = await fetch(`${server.url}/docs`);
    const html = await page.text();
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(html, /<div id="swagger-ui">/);

    // The browser obeys the page's CSP: `upgrade-insecure-requests` would send every asset of a
    // page served over http:// to https://, and the page would stay blank.
    assert.equal(new URL(server.url).protocol, 'http:');
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/, 'the page keeps a CSP');
    assert.doesNotMatch(csp, /upgrade-insecure-requests/);

    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => new URL(m[1]!, page.url));
    assert.ok(assets.some((u) => u.pathname.endsWith('.js')) && assets.some((u) => u.pathname.endsWith('.css')));
    for (const asset of assets) {
      assert.equal(asset.origin, new URL(server.url).origin, `${asset.href} is served here (script-src 'self')`);
      const reply = await fetch(asset);
      await reply.arrayBuffer();
      assert.equal(reply.status, 200, asset.href);
    }
    // Swagger UI's initializer loads `./json` from the page's folder: the same document.
    const initializer = await (await fetch(`${server.url}/docs/static/swagger-initializer.js`)).text();
    assert.match(initializer, /resolveUrl\('\.\/json'\)/);
    const served = await server.request('GET', '/docs/json');
    assert.equal(served.status, 200);
    assert.deepEqual(served.json, doc);
  });
});
