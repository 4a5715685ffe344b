import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type RawSettings } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from './databases.js';

/** The JWT secret test servers sign with, so a test can mint expired or forged tokens on purpose. */
export const TEST_JWT_SECRET = 'test-secret-test-secret-test-secret-0123';

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: any;
}

export interface RequestOptions {
  /** Sent as JSON with `Content-Type: application/json` unless `contentType` or `rawBody` say otherwise. */
  body?: unknown;
  rawBody?: string | Uint8Array;
  contentType?: string | null;
  token?: string;
  headers?: Record<string, string>;
}

export interface TestServer {
  kind: DatabaseKind;
  url: string;
  running: RunningServer;
  request(method: string, path: string, options?: RequestOptions): Promise<Reply>;
  /** Every row of every table, for checking that a refused request changed nothing. */
  snapshot(): Promise<string>;
  close(): Promise<void>;
}

const TABLES = ['accounts', 'api_clients', 'streams', 'broadcasts', 'segments', 'destinations', 'settings', 'id_sequences', 'api_tokens', 'apps', 'app_versions', 'app_comments', 'upload_credentials', 'multipart_uploads', 'multipart_parts', 'upload_objects', 'upload_broadcasts', 'webhooks', 'oauth_tokens', 'stream_flags', 'chat_rooms', 'chat_messages', 'ms_users', 'ms_streams', 'network_accounts', 'network_account_shares', 'stream_accounts', 'stream_shares', 'playback_ids', 'access_tokens', 'signing_keys', 'webhook_endpoints', 'live_events', 'sessions', 'chat_mutes'] as const;

/**
 * The settings of a server whose peers are test processes on 127.0.0.1 (relay receivers,
 * webhook and callback receivers, pull sources): outbound connections to private networks
 * are refused unless opened, as a real deployment would open them for a closed network.
 */
export const LOCAL_PEERS = { allowPrivateFetch: '1' } as const;

export interface TestServerOptions {
  /** Run on this database (e.g. to restart a server on it); the caller drops it. */
  database?: TestDatabase;
  /** Run on this data directory; the caller removes it. */
  dataDir?: string;
}

export async function startTestServer(kind: DatabaseKind, settings: RawSettings = {}, options: TestServerOptions = {}): Promise<TestServer> {
  const database: TestDatabase = options.database ?? (await createTestDatabase(kind));
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'streamdelta-data-'));
  const config = loadConfig(
    {
      httpHost: '127.0.0.1',
      httpPort: '0',
      rtmpPort: '0',
      dataDir,
      databaseUrl: database.url,
      logLevel: 'silent',
      jwtSecret: TEST_JWT_SECRET,
      // Every test signs its users up from 127.0.0.1: the per-address sign-up count would stop
      // the suite, not an attacker. Its own test turns it on.
      signupMaxPerIp: '0',
      ...settings,
    },
    {},
  );
  const running = await startServer(config);
  const base = running.httpUrl;

  return {
    kind,
    url: base,
    running,
    async request(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      let body: string | Uint8Array | undefined;
      if (options.rawBody !== undefined) {
        body = options.rawBody;
      } else if (options.body !== undefined) {
        body = JSON.stringify(options.body);
      }
      const contentType = options.contentType === undefined ? (body !== undefined ? 'application/json' : null) : options.contentType;
      if (contentType !== null) headers['content-type'] = contentType;
      if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
      const response = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await response.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.status, headers: response.headers, text, json };
    },
    async snapshot() {
      const tables: Record<string, string[]> = {};
      for (const table of TABLES) {
        const rows = await running.store.db.selectFrom(table).selectAll().execute();
        tables[table] = rows.map((row) => JSON.stringify(row)).sort();
      }
      return JSON.stringify(tables);
    },
    async close() {
      await running.close();
      if (!options.database) await database.drop();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
