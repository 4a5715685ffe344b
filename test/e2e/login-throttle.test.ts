/**
 * Logins resist guessing (issue 14, item 6): a burst of wrong passwords against the real server
 * gets a few tries and then only refusals in the dialect's own style (with Retry-After where
 * HTTP gives it a meaning), the right password included while the wait lasts; once the wait is
 * over the right password works. The counts live in the database, so a second node sees them.
 * Sign-up refuses the most common passwords and stores nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { startTestServer, type Reply, type TestServer } from '../helpers/server.js';
import { assertRigError, newUser, uniqueName } from '../api/rig/support.js';
import { basic as msBasic } from '../api/multistreamer/support.js';
import { accessToken, call, failed, newClient, ok } from '../api/kickflip/support.js';

/** Three free failures per account, then waits of 1 s doubling to 2 s; addresses are not limited here. */
const PER_ACCOUNT = { loginMaxFailures: '3', loginMaxFailuresPerIp: '0', loginBackoff: '1', loginBackoffMax: '2', loginFailureWindow: '60' };

/** Waits out the Retry-After of a refusal (whole seconds, at least 1). */
async function waitOut(reply: Reply): Promise<void> {
  const seconds = Number(reply.headers.get('retry-after'));
  assert.ok(Number.isInteger(seconds) && seconds >= 1 && seconds <= 2, `Retry-After: ${reply.headers.get('retry-after')}`);
  await sleep(seconds * 1000 + 100);
}

function countStatuses(replies: Reply[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const r of replies) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  return counts;
}

for (const kind of databaseKinds()) {
  describe(`failed logins are throttled per account on ${kind}`, () => {
    let database: TestDatabase;
    let server: TestServer;
    let second: TestServer;
    before(async () => {
      database = await createTestDatabase(kind);
      server = await startTestServer(kind, PER_ACCOUNT, { database });
      // Another node of the same cluster: the same database, its own HTTP server.
      second = await startTestServer(kind, PER_ACCOUNT, { database });
    });
    after(async () => {
      await second.close();
      await server.close();
      await database.drop();
    });

    it('rig: 20 concurrent wrong passwords get at most 3 tries, then 429 with 1003 and Retry-After, the right one included; after the wait it works', async () => {
      const user = await newUser(server, 'guess');
      const burst = await Promise.all(
        Array.from({ length: 20 }, (_, i) => server.request('POST', '/accounts/auth/local', { body: { username: user.username, password: `wrong-guess-${i}` } })),
      );
      const counts = countStatuses(burst);
      assert.ok((counts.get(401) ?? 0) >= 1 && (counts.get(401) ?? 0) <= 3, `tries that were checked: ${JSON.stringify([...counts])}`);
      assert.equal((counts.get(401) ?? 0) + (counts.get(429) ?? 0), 20, JSON.stringify([...counts]));
      const refused = burst.find((r) => r.status === 429)!;
      assertRigError(refused, 429, 1003);
      assert.match(refused.json.message, /too many failed login attempts/i);

      // The right password while the wait lasts is refused the same way, on either node: nothing to learn.
      const right = await second.request('POST', '/accounts/auth/local', { body: { username: user.username, password: user.password } });
      assertRigError(right, 429, 1003);
      assert.equal(right.json.payload, undefined);
      // The password change route tries the old password too: a stolen token cannot guess with it.
      assertRigError(await server.request('POST', '/accounts/password', { token: user.token, body: { oldPassword: 'another-guess', newPassword: 'N3wAndUnguessable' } }), 429, 1007);

      await waitOut(right);
      const login = await server.request('POST', '/accounts/auth/local', { body: { username: user.username, password: user.password } });
      assert.equal(login.status, 200, login.text);
      // A success starts the count again: the next wrong password is a plain 401, not a wait.
      assertRigError(await server.request('POST', '/accounts/auth/local', { body: { username: user.username, password: 'wrong-again-1' } }), 401, 1003);
    });

    it('rig: an unknown username is throttled exactly like a known one (no way to tell them apart)', async () => {
      const username = uniqueName('nobody');
      const replies: Reply[] = [];
      for (let i = 0; i < 5; i++) replies.push(await server.request('POST', '/accounts/auth/local', { body: { username, password: `wrong-guess-${i}` } }));
      assert.deepEqual(replies.map((r) => r.status), [401, 401, 401, 429, 429]);
    });

    it('Multistreamer: /auth answers 429 {"error"} with Retry-After after 3 failures, and the token after the wait', async () => {
      const user = await newUser(server, 'msguess');
      const statuses: number[] = [];
      let last: Reply | undefined;
      for (let i = 0; i < 6; i++) {
        last = await server.request('GET', '/api/v1/auth', { headers: { authorization: msBasic(user.username, `wrong-guess-${i}`) } });
        statuses.push(last.status);
      }
      assert.deepEqual(statuses, [401, 401, 401, 429, 429, 429]);
      assert.deepEqual(Object.keys(last!.json), ['error']);
      assert.match(last!.json.error, /^too many failed logins: try again in \d+ s$/);
      const right = await second.request('GET', '/api/v1/auth', { headers: { authorization: msBasic(user.username, user.password) } });
      assert.equal(right.status, 429, right.text);
      assert.equal(right.json.token, undefined);
      await waitOut(right);
      const auth = await server.request('GET', '/api/v1/auth', { headers: { authorization: msBasic(user.username, user.password) } });
      assert.equal(auth.status, 200, auth.text);
      assert.match(auth.json.token, /^[0-9A-F]{20}$/);
    });

    it('Kickflip: user/uuid answers success false after 3 failures, the right password included, and logs in after the wait', async () => {
      const creds = await newClient(server, 'Guess App');
      const token = await accessToken(server, creds);
      const username = uniqueName('kfguess');
      ok(await call(server, token, 'user/new', { username, password: 'the-right-password-9' }));
      const attacker = await accessToken(server, creds);
      for (let i = 0; i < 3; i++) failed(await call(server, attacker, 'user/uuid', { username, password: `wrong-guess-${i}` }), /invalid username or password/i);
      failed(await call(server, attacker, 'user/uuid', { username, password: 'wrong-guess-3' }), /too many failed login attempts; try again in \d+ s/i);
      // Any call that names a user by username and password counts the same way.
      failed(await call(server, attacker, 'stream/start', { username, password: 'wrong-guess-4' }), /too many failed login attempts/i);
      const right = await call(second, attacker, 'user/uuid', { username, password: 'the-right-password-9' });
      failed(right, /too many failed login attempts/i);
      // HTTP 200 is Kickflip's answer to every refusal; Retry-After has no meaning there.
      assert.equal(right.headers.get('retry-after'), null);
      await sleep(2100);
      assert.equal(ok(await call(server, attacker, 'user/uuid', { username, password: 'the-right-password-9' })).name, username);
    });
  });

  describe(`failed logins are throttled per address on ${kind}`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind, { loginMaxFailures: '0', loginMaxFailuresPerIp: '4', signupMaxPerIp: '4', loginBackoff: '1', loginBackoffMax: '2', loginFailureWindow: '60' });
    });
    after(() => server.close());

    it('refuses an address that sprays one password over many usernames, whichever dialect it uses', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        statuses.push((await server.request('POST', '/accounts/auth/local', { body: { username: uniqueName('spray'), password: 'Summer2024!' } })).status);
      }
      assert.deepEqual(statuses, [401, 401, 401, 401]);
      const rig = await server.request('POST', '/accounts/auth/local', { body: { username: uniqueName('spray'), password: 'Summer2024!' } });
      assertRigError(rig, 429, 1003);
      assert.ok(Number(rig.headers.get('retry-after')) >= 1);
      const ms = await server.request('GET', '/api/v1/auth', { headers: { authorization: msBasic(uniqueName('spray'), 'Summer2024!') } });
      assert.equal(ms.status, 429, ms.text);
      assert.ok(Number(ms.headers.get('retry-after')) >= 1);
    });

    it('counts rig sign-ups per address: a flood of accounts waits like a flood of guesses, storing nothing', async () => {
      const created: number[] = [];
      for (let i = 0; i < 4; i++) {
        const name = uniqueName('flood');
        created.push((await server.request('POST', '/accounts/', { body: { username: name, password: 'a fine passphrase 7', email: `${name}@example.com` } })).status);
      }
      assert.deepEqual(created, [200, 200, 200, 200]);
      const before = await server.snapshot();
      const name = uniqueName('flood');
      const refused = await server.request('POST', '/accounts/', { body: { username: name, password: 'a fine passphrase 7', email: `${name}@example.com` } });
      assertRigError(refused, 429, 1006);
      assert.match(refused.json.message, /too many sign-ups/i);
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
      assert.equal(await server.snapshot(), before, 'no account was made');
    });
  });

  describe(`sign-up refuses the most common passwords on ${kind}`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(() => server.close());

    it('in rig (sign-up and password change) and Kickflip (user/new, user/change), storing nothing', async () => {
      const user = await newUser(server, 'common');
      const creds = await newClient(server, 'Common App');
      const token = await accessToken(server, creds);
      ok(await call(server, token, 'user/new', { username: uniqueName('kfcommon'), password: 'an-uncommon-one-7' }));
      const before = await server.snapshot();
      for (const password of ['password123', 'Password1', 'QWERTYUIOP', 'iloveyou1', '12345678']) {
        const signup = await server.request('POST', '/accounts/', { body: { username: uniqueName('weak'), password, email: `${uniqueName('weak')}@example.net` } });
        assertRigError(signup, 400, 1005, { anyDetails: true });
        assert.match(JSON.stringify(signup.json.details), /common/);
        assertRigError(await server.request('POST', '/accounts/password', { token: user.token, body: { oldPassword: user.password, newPassword: password } }), 400, 1005, { anyDetails: true });
        failed(await call(server, token, 'user/new', { username: uniqueName('kfweak'), password }), /common/);
        failed(await call(server, token, 'user/change', { new_password: password }), /common/);
      }
      assert.equal(await server.snapshot(), before);
      // A password of the same length that is not on the list is fine.
      const fine = await server.request('POST', '/accounts/', { body: { username: uniqueName('strong'), password: 'pa55word-of-mine', email: `${uniqueName('strong')}@example.net` } });
      assert.equal(fine.status, 200, fine.text);
    });
  });
}
