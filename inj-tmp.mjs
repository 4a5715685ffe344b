import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './dist/src/config.js';
import { startServer } from './dist/src/server.js';
const dir = mkdtempSync(join(tmpdir(), 'inj-'));
const config = loadConfig({ dataDir: dir, httpHost: '127.0.0.1', httpPort: '0', rtmpPort: '0', logLevel: 'warn' }, {});
const s = await startServer(config);
const app = s.http;
const j = async (o) => { const r = await app.inject(o); return { status: r.statusCode, json: r.json() }; };
await j({ method: 'POST', url: '/accounts/', payload: { username: 'bench', password: 'bench-password-0123', email: 'b@example.com' } });
const login = await j({ method: 'POST', url: '/accounts/auth/local', payload: { username: 'bench', password: 'bench-password-0123' } });
const token = login.json.payload.token;
const st = await j({ method: 'POST', url: '/streams/', headers: { authorization: `Bearer ${token}` } });
const { id, streamKey } = st.json.payload;
await j({ method: 'POST', url: `/streams/${id}/destination`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: { service: 'YouTube', streamKey: 'abcd-efgh-ijkl-mnop-qrst' } });
const tok = await s.core.liveApiTokens.create((await s.core.accounts.findByUsername('bench')).id);
const basic = `Basic ${Buffer.from(`${tok.id}:${tok.secret}`).toString('base64')}`;
const live = await j({ method: 'POST', url: '/video/v1/live-streams', headers: { authorization: basic }, payload: { playback_policy: ['public'] } });
const routes = {
  agent: { method: 'GET', url: `/agents/config/${streamKey}` },
  jwt: { method: 'GET', url: `/streams/${id}`, headers: { authorization: `Bearer ${token}` } },
  mux: { method: 'GET', url: `/video/v1/live-streams/${live.json.data.id}`, headers: { authorization: basic } },
  notfound: { method: 'GET', url: `/nothing-here` },
};
for (const round of [1, 2, 3, 4]) for (const [name, o] of Object.entries(routes).filter(([n]) => !process.env.ONLY || n === process.env.ONLY)) {
  const N = 3000; const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) { const r = await app.inject(o); if (round === 1 && i === 0) console.log(name, r.statusCode); }
  const c = process.cpuUsage(c0); console.log(name, 'cpu µs/req', ((c.user + c.system) / N).toFixed(0));
}
await s.stop?.(); process.exit(0);
