import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalBlobStore } from './blob/local.js';
import { ConfigError, describeDatabase, extractSettingFlags, loadConfig, SETTINGS, type Config } from './config.js';
import { Core } from './core/core.js';
import { EgressPolicy } from './core/egress/policy.js';
import { DomainError, ValidationError, ConflictError } from './core/kernel/errors.js';
import { MemoryBus } from './bus/memory.js';
import type { DomainEvent } from './core/kernel/events.js';
import { startServer } from './server.js';
import { Store } from './store/store.js';

/** A failure the user can act on: printed as one line, with an exit status. */
class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

const USAGE = `Usage: streamdelta <command> [options]

Commands:
  serve                                   run the server (HTTP APIs, HLS, RTMP ingest)
  migrate [--json]                        apply database migrations and exit
  user create --username U --password P [--email E] [--admin] [--json]
                                          create an account; --admin sees every account's objects
                                          in the live API
  access-token create --user USERNAME [--name N] [--read-only] [--json]
                                          make a live API access token (HTTP Basic id:secret, as
                                          MUX_TOKEN_ID / MUX_TOKEN_SECRET); the secret is shown
                                          only this once
  access-token list [--user USERNAME] [--json]
                                          list live API access tokens (never their secrets)
  access-token revoke ID [--json]         revoke a live API access token
  user list [--json]                      list accounts
  site create NAME [--callback-url URL] [--json]
                                          create a StreamAPI site: its API key and secret
  site list [--json]                      list sites
  site revoke KEY [--json]                revoke a site's API key
  site theme KEY --name N --width W --height H --layout-path P --skin-path P [--json]
                                          add a theme to a site's theme/list
  client create NAME [--json]             create an OAuth2 API client (a Kickflip app): its client id
                                          and secret, the secret shown only this once
  client list [--json]                    list API clients
  client revoke CLIENT_ID [--json]        revoke an API client and every access token it holds
  token USERNAME [--rotate] [--json]      make a user's API token (Kickfolio auth_token) and show it
                                          this once; --rotate replaces it
  help                                    show this text

Settings (each also read from its environment variable):
${Object.values(SETTINGS)
  .map((s) => `  ${('boolean' in s ? s.flag : `${s.flag} VALUE`).padEnd(28)} ${s.env.padEnd(28)} ${s.meaning}`)
  .join('\n')}
`;

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Runs `work` on the configured database, migrated, and closes it after. */
async function withCore<T>(config: Config, work: (core: Core, store: Store) => Promise<T>): Promise<T> {
  const store = Store.open(config.database);
  try {
    await store.migrate();
    const core = new Core(
      { store, bus: new MemoryBus<DomainEvent>(), now: () => new Date().toISOString(), onBackgroundError: () => {} },
      { ingestServers: config.ingestServers, blobs: new LocalBlobStore(join(config.dataDir, 'media')), egress: new EgressPolicy(config.allowPrivateFetch) },
    );
    return await work(core, store);
  } finally {
    await store.close();
  }
}

function options<T extends Record<string, { type: 'string' | 'boolean' }>>(args: string[], spec: T) {
  try {
    return parseArgs({ args, options: spec, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n\n${USAGE}`, 2);
  }
}

async function serve(config: Config, args: string[]): Promise<void> {
  options(args, {});
  const server = await startServer(config);
  print(
    `streamdelta listening on ${server.httpUrl} (HTTP) and rtmp://${new URL(server.httpUrl).hostname}:${server.rtmpPort}/${config.rtmpApp} (RTMP); ` +
      `public URL ${config.publicUrl}, database ${describeDatabase(config.database)}`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      print(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    print(`${signal}: ending live broadcasts, finishing in-flight requests and shutting down`);
    server.close().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`streamdelta: error while shutting down: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

async function migrate(config: Config, args: string[]): Promise<void> {
  const { json } = options(args, { json: { type: 'boolean' } });
  const store = Store.open(config.database);
  try {
    const { applied } = await store.migrate();
    if (json) printJson({ applied });
    else print(applied.length ? `applied ${applied.join(', ')}` : 'database is up to date');
  } finally {
    await store.close();
  }
}

async function user(config: Config, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub === 'create') {
    const o = options(rest, {
      username: { type: 'string' },
      password: { type: 'string' },
      email: { type: 'string' },
      admin: { type: 'boolean' },
      json: { type: 'boolean' },
    });
    if (o.username === undefined || o.password === undefined) throw new CliError('user create needs --username and --password', 2);
    const account = await withCore(config, (core) =>
      core.accounts.create({ username: o.username!, password: o.password!, email: o.email ?? null, admin: o.admin === true }),
    );
    if (o.json) printJson({ id: account.id, username: account.username, email: account.email, admin: account.isAdmin, createdAt: account.createdAt });
    else print(`created user ${account.username} (${account.id})`);
    return;
  }
  if (sub === 'list') {
    const o = options(rest, { json: { type: 'boolean' } });
    const accounts = await withCore(config, (core) => core.accounts.list());
    if (o.json) {
      printJson({ users: accounts.map((a) => ({ id: a.id, username: a.username, email: a.email, createdAt: a.createdAt })) });
    } else if (accounts.length === 0) {
      print('no users');
    } else {
      for (const a of accounts) print(`${a.id}  ${a.username.padEnd(24)} ${a.email ?? '-'}  ${a.createdAt}`);
    }
    return;
  }
  throw new CliError(`unknown user command ${JSON.stringify(sub ?? '')}\n\n${USAGE}`, 2);
}

async function site(config: Config, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const positional = (values: string[], what: string): string => {
    const [first, ...others] = values;
    if (first === undefined || first.startsWith('--') || others.some((o) => !o.startsWith('--'))) {
      throw new CliError(`site ${sub} needs ${what}\n\n${USAGE}`, 2);
    }
    return first;
  };
  if (sub === 'create') {
    const name = positional(rest.filter((_, i) => i === 0), 'a NAME');
    const o = options(rest.slice(1), { 'callback-url': { type: 'string' }, json: { type: 'boolean' } });
    const { site: created, secret } = await withCore(config, (core) => core.sites.create(name, o['callback-url'] ?? null));
    if (o.json) printJson({ key: created.key, secret });
    else print(`created site ${created.name}\nkey:    ${created.key}\nsecret: ${secret}`);
    return;
  }
  if (sub === 'list') {
    const o = options(rest, { json: { type: 'boolean' } });
    const sites = await withCore(config, (core) => core.sites.list());
    const shown = sites.map((s) => ({ key: s.key, name: s.name, callbackUrl: s.callbackUrl, createdAt: s.createdAt, revokedAt: s.revokedAt }));
    if (o.json) printJson({ sites: shown });
    else if (shown.length === 0) print('no sites');
    else for (const s of shown) print(`${s.key}  ${s.name.padEnd(24)} ${s.callbackUrl ?? '-'}${s.revokedAt ? '  (revoked)' : ''}`);
    return;
  }
  if (sub === 'revoke') {
    const key = positional(rest.filter((_, i) => i === 0), 'a KEY');
    const o = options(rest.slice(1), { json: { type: 'boolean' } });
    const revoked = await withCore(config, (core) => core.sites.revoke(key));
    if (o.json) printJson({ key: revoked.key, revokedAt: revoked.revokedAt });
    else print(`revoked site ${revoked.name}`);
    return;
  }
  if (sub === 'theme') {
    const key = positional(rest.filter((_, i) => i === 0), 'a KEY');
    const o = options(rest.slice(1), {
      name: { type: 'string' },
      width: { type: 'string' },
      height: { type: 'string' },
      'layout-path': { type: 'string' },
      'skin-path': { type: 'string' },
      json: { type: 'boolean' },
    });
    if (!o.name || !o.width || !o.height || !o['layout-path'] || !o['skin-path']) {
      throw new CliError('site theme needs --name, --width, --height, --layout-path and --skin-path', 2);
    }
    const theme = await withCore(config, (core) =>
      core.sites.addTheme(key, { name: o.name!, width: Number(o.width), height: Number(o.height), layoutPath: o['layout-path']!, skinPath: o['skin-path']! }),
    );
    if (o.json) printJson(theme);
    else print(`added theme ${theme.id} (${theme.name})`);
    return;
  }
  throw new CliError(`unknown site command ${JSON.stringify(sub ?? '')}\n\n${USAGE}`, 2);
}

async function client(config: Config, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const positional = (values: string[], what: string): string => {
    const [first] = values;
    if (first === undefined || first.startsWith('--')) throw new CliError(`client ${sub} needs ${what}\n\n${USAGE}`, 2);
    return first;
  };
  if (sub === 'create') {
    const name = positional(rest, 'a NAME');
    const o = options(rest.slice(1), { json: { type: 'boolean' } });
    const { client: created, secret } = await withCore(config, (core) => core.apiClients.create(name));
    if (o.json) printJson({ clientId: created.clientId, clientSecret: secret });
    else print(`created API client ${created.name} (app ${created.app})\nclient id:     ${created.clientId}\nclient secret: ${secret}\n(the secret is shown only now)`);
    return;
  }
  if (sub === 'list') {
    const o = options(rest, { json: { type: 'boolean' } });
    const clients = await withCore(config, (core) => core.apiClients.list());
    const shown = clients.map((c) => ({ clientId: c.clientId, name: c.name, app: c.app, createdAt: c.createdAt, revokedAt: c.revokedAt }));
    if (o.json) printJson({ clients: shown });
    else if (shown.length === 0) print('no API clients');
    else for (const c of shown) print(`${c.clientId}  ${c.name.padEnd(24)} ${c.createdAt}${c.revokedAt ? '  (revoked)' : ''}`);
    return;
  }
  if (sub === 'revoke') {
    const clientId = positional(rest, 'a CLIENT_ID');
    const o = options(rest.slice(1), { json: { type: 'boolean' } });
    const revoked = await withCore(config, (core) => core.apiClients.revoke(clientId));
    if (o.json) printJson({ clientId: revoked.clientId, revokedAt: revoked.revokedAt });
    else print(`revoked API client ${revoked.name}`);
    return;
  }
  throw new CliError(`unknown client command ${JSON.stringify(sub ?? '')}\n\n${USAGE}`, 2);
}

/** The live API's access tokens: made for an account, listed, revoked. */
async function accessToken(config: Config, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const accountOf = async (core: Core, username: string) => {
    const account = await core.accounts.findByUsername(username);
    if (!account) throw new CliError(`no user named ${JSON.stringify(username)}`);
    return account;
  };
  if (sub === 'create') {
    const o = options(rest, { user: { type: 'string' }, name: { type: 'string' }, 'read-only': { type: 'boolean' }, json: { type: 'boolean' } });
    if (o.user === undefined) throw new CliError('access-token create needs --user USERNAME', 2);
    const issued = await withCore(config, async (core) => core.liveApiTokens.create((await accountOf(core, o.user!)).id, { name: o.name ?? null, readOnly: o['read-only'] === true }));
    if (o.json) printJson({ id: issued.id, secret: issued.secret, permission: issued.permission, name: issued.name });
    else print(`created ${issued.permission === 'read' ? 'a read-only' : 'a full'} access token for ${o.user}
id:     ${issued.id}
secret: ${issued.secret}
(the secret is not shown again)`);
    return;
  }
  if (sub === 'list') {
    const o = options(rest, { user: { type: 'string' }, json: { type: 'boolean' } });
    const tokens = await withCore(config, async (core) => core.liveApiTokens.list(o.user === undefined ? undefined : (await accountOf(core, o.user)).id));
    const shown = tokens.map((t) => ({ id: t.id, accountId: t.accountId, name: t.name, permission: t.permission, createdAt: t.createdAt }));
    if (o.json) printJson({ tokens: shown });
    else if (shown.length === 0) print('no access tokens');
    else for (const t of shown) print(`${t.id}  ${t.permission.padEnd(4)}  ${t.accountId}  ${t.name ?? '-'}  ${t.createdAt}`);
    return;
  }
  if (sub === 'revoke') {
    const [id, ...more] = rest;
    if (id === undefined || id.startsWith('--')) throw new CliError(`access-token revoke needs an ID\n\n${USAGE}`, 2);
    const o = options(more, { json: { type: 'boolean' } });
    await withCore(config, (core) => core.liveApiTokens.revoke(id));
    if (o.json) printJson({ id, revoked: true });
    else print(`revoked access token ${id}`);
    return;
  }
  throw new CliError(`unknown access-token command ${JSON.stringify(sub ?? '')}\n\n${USAGE}`, 2);
}

async function token(config: Config, args: string[]): Promise<void> {
  const [username, ...rest] = args;
  if (username === undefined || username.startsWith('--')) throw new CliError(`token needs a USERNAME\n\n${USAGE}`, 2);
  const o = options(rest, { rotate: { type: 'boolean' }, json: { type: 'boolean' } });
  const { token: shown } = await withCore(config, (core) =>
    core.apiTokens.forUsername(username, { rotate: o.rotate === true }).catch((err: unknown) => {
      if (err instanceof ConflictError) throw new CliError(`${username} already has an API token, kept only as a digest so it cannot be shown again; --rotate replaces it (the old one stops working)`);
      throw err;
    }),
  );
  if (o.json) printJson({ token: shown });
  else print(`${o.rotate ? 'new API token' : 'API token'} for ${username} (shown only this once${o.rotate ? '; the old one no longer works' : ''}): ${shown}`);
}

function describeDomainError(err: DomainError): string {
  const fields = err instanceof ValidationError || err instanceof ConflictError ? err.fields : {};
  const detail = Object.entries(fields).map(([field, problem]) => `${field} ${problem}`);
  return detail.length ? `${err.message}: ${detail.join('; ')}` : err.message;
}

export async function main(argv: string[]): Promise<void> {
  try {
    const { settings, rest } = extractSettingFlags(argv);
    const [command, ...args] = rest;
    // Help is asked for anywhere on the line (`serve --help`): it needs no configuration and starts nothing.
    const wantsHelp = rest.some((arg) => arg === '--help' || arg === '-h');
    if (command === undefined || command === 'help' || wantsHelp) {
      process.stdout.write(USAGE);
      return;
    }
    if (command === '--version' || command === 'version') {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
      print(pkg.version);
      return;
    }
    const config = loadConfig(settings);
    switch (command) {
      case 'serve':
        return await serve(config, args);
      case 'migrate':
        return await migrate(config, args);
      case 'user':
        return await user(config, args);
      case 'site':
        return await site(config, args);
      case 'client':
        return await client(config, args);
      case 'token':
        return await token(config, args);
      case 'access-token':
        return await accessToken(config, args);
      default:
        throw new CliError(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`, 2);
    }
  } catch (err) {
    let message: string;
    let code = 1;
    if (err instanceof CliError) {
      message = err.message;
      code = err.exitCode;
    } else if (err instanceof ConfigError) {
      message = `invalid configuration: ${err.message}`;
      code = 2;
    } else if (err instanceof DomainError) {
      message = describeDomainError(err);
    } else {
      message = err instanceof Error ? err.message : String(err);
    }
    process.stderr.write(`streamdelta: ${message}\n`);
    process.exitCode = code;
  }
}
