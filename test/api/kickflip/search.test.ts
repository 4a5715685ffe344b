/**
 * Kickflip search: keyword over title, description and username (case-insensitive, wildcards
 * literal), 1-based pages with next_page_available/total_items/page_number/results_per_page,
 * search/user, search/location (nearest first, radius in degrees, no page params needed); only
 * the client's own public, undeleted streams are ever found.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { call, failed, newClient, newDevice, ok, startStream, type Device } from './support.js';

const ids = (list: any) => (list.streams as { stream_id: string }[]).map((s) => s.stream_id);

for (const kind of databaseKinds()) {
  describe(`Kickflip search on ${kind}`, () => {
    let server: TestServer;
    let alice: Device;
    let bob: Device;
    let outsider: Device;
    const made: Record<string, string> = {};
    before(async () => {
      server = await startTestServer(kind);
      const app = await newClient(server, 'Search App');
      alice = await newDevice(server, app, { username: 'alice' });
      bob = await newDevice(server, app, { username: 'bobby_tables' });
      outsider = await newDevice(server, await newClient(server, 'Other App'), { username: 'alice' });
      const make = async (name: string, device: Device, fields: Record<string, string | number | boolean>) => {
        made[name] = (await startStream(server, device, fields)).stream_id;
        // Creation times are in milliseconds: keep them apart so "newest first" has one answer.
        await new Promise((resolve) => setTimeout(resolve, 3));
      };
      // Made one after another: search lists newest first.
      await make('paris', alice, { title: 'Sunset in Paris', lat: 48.8566, lon: 2.3522 });
      await make('london', alice, { title: 'London rain', description: 'a grey SUNSET', lat: 51.5074, lon: -0.1278 });
      await make('tokyo', bob, { title: 'Tokyo night', lat: 35.6762, lon: 139.6503 });
      await make('percent', bob, { title: '100% fun_stuff' });
      await make('private', alice, { title: 'Private sunset', private: true, lat: 48.86, lon: 2.35 });
      await make('deleted', alice, { title: 'Deleted sunset', lat: 48.85, lon: 2.34 });
      ok(await call(server, alice.token, 'stream/change', { stream_id: made.deleted!, uuid: alice.user.uuid, deleted: true }));
      await make('fiji', bob, { title: 'Across the date line', lat: -17.7, lon: 179.9 });
      await startStream(server, outsider, { title: 'Sunset elsewhere', lat: 48.8566, lon: 2.3522 });
    });
    after(() => server?.close());

    it('search lists the public, undeleted streams of the client only, newest first, with paging fields', async () => {
      const all = ok(await call(server, alice.token, 'search', { uuid: alice.user.uuid }));
      assert.deepEqual(ids(all), [made.fiji, made.percent, made.tokyo, made.london, made.paris]);
      assert.equal(all.total_items, 5);
      assert.equal(all.page_number, 1);
      assert.equal(all.results_per_page, 25);
      assert.equal(all.next_page_available, false);
    });

    it('keyword matches title, description and username, case-insensitively, with % and _ taken literally', async () => {
      const sunset = ok(await call(server, alice.token, 'search', { uuid: alice.user.uuid, keyword: 'sunset' }));
      assert.deepEqual(ids(sunset), [made.london, made.paris]);
      assert.deepEqual(ids(ok(await call(server, alice.token, 'search', { keyword: 'BOBBY' }))), [made.fiji, made.percent, made.tokyo]);
      assert.deepEqual(ids(ok(await call(server, alice.token, 'search', { keyword: '100%' }))), [made.percent]);
      assert.deepEqual(ids(ok(await call(server, alice.token, 'search', { keyword: '%' }))), [made.percent]);
      assert.deepEqual(ids(ok(await call(server, alice.token, 'search', { keyword: 'n_gh' }))), []);
      assert.deepEqual(ids(ok(await call(server, alice.token, 'search', { keyword: 'fun_stuff' }))), [made.percent]);
    });

    it('pages count from 1: next_page_available, total_items; a page past the end is empty; results_per_page is capped', async () => {
      const p1 = ok(await call(server, alice.token, 'search', { page: 1, results_per_page: 2 }));
      const p2 = ok(await call(server, alice.token, 'search', { page: '2', results_per_page: '2' }));
      const p3 = ok(await call(server, alice.token, 'search', { page: 3, results_per_page: 2 }, { json: true }));
      const p4 = ok(await call(server, alice.token, 'search', { page: 4, results_per_page: 2 }));
      assert.deepEqual([...ids(p1), ...ids(p2), ...ids(p3)], [made.fiji, made.percent, made.tokyo, made.london, made.paris]);
      assert.deepEqual([p1.next_page_available, p2.next_page_available, p3.next_page_available, p4.next_page_available], [true, true, false, false]);
      assert.deepEqual([p1.total_items, p3.total_items, p4.total_items], [5, 5, 5]);
      assert.deepEqual([p2.page_number, p2.results_per_page], [2, 2]);
      assert.deepEqual(ids(p4), []);
      assert.equal(ok(await call(server, alice.token, 'search', { results_per_page: 100000 })).results_per_page, 100);
    });

    it('page 0, a negative or non-numeric page, results_per_page 0: success false with a reason', async () => {
      failed(await call(server, alice.token, 'search', { page: 0 }), /page/);
      failed(await call(server, alice.token, 'search', { page: -1 }), /page/);
      failed(await call(server, alice.token, 'search', { page: 'two' }), /page/);
      failed(await call(server, alice.token, 'search', { page: 1.5 }), /page/);
      failed(await call(server, alice.token, 'search', { results_per_page: 0 }), /results_per_page/);
      failed(await call(server, alice.token, 'search/user', { username: 'alice', page: 0 }), /page/);
      failed(await call(server, alice.token, 'search/location', { lat: 0, lon: 0, page: 0 }), /page/);
    });

    it("search/user lists one user's public streams of this client; an unknown name finds none", async () => {
      const bobs = ok(await call(server, alice.token, 'search/user', { uuid: alice.user.uuid, username: 'bobby_tables', page: 1, results_per_page: 2 }));
      assert.deepEqual(ids(bobs), [made.fiji, made.percent]);
      assert.equal(bobs.total_items, 3);
      assert.equal(bobs.next_page_available, true);
      // Alice's own private and deleted streams do not appear, even to her.
      assert.deepEqual(ids(ok(await call(server, alice.token, 'search/user', { uuid: alice.user.uuid, username: 'alice' }))), [made.london, made.paris]);
      assert.deepEqual(ids(ok(await call(server, alice.token, 'search/user', { username: 'nobody' }))), []);
      failed(await call(server, alice.token, 'search/user', {}), /username/);
      // The other client's alice sees only her own stream.
      assert.equal(ok(await call(server, outsider.token, 'search/user', { username: 'alice' })).total_items, 1);
    });

    it('search/location: nearest first within the radius (degrees), across the date line, with no page params (Android)', async () => {
      const near = ok(await call(server, alice.token, 'search/location', { uuid: alice.user.uuid, lat: 48.8, lon: 2.3, radius: 5 }));
      assert.deepEqual(ids(near), [made.paris, made.london]);
      assert.equal(near.page_number, 1);
      const wide = ok(await call(server, alice.token, 'search/location', { lat: 48.8, lon: 2.3, radius: 360 }));
      assert.deepEqual(ids(wide), [made.paris, made.london, made.tokyo, made.fiji]);
      const dateLine = ok(await call(server, alice.token, 'search/location', { lat: -17.7, lon: -179.9, radius: 1 }));
      assert.deepEqual(ids(dateLine), [made.fiji]);
      const paged = ok(await call(server, alice.token, 'search/location', { lat: 48.8, lon: 2.3, radius: 360, page: 2, results_per_page: 3 }));
      assert.deepEqual(ids(paged), [made.fiji]);
      assert.equal(paged.total_items, 4);
      // Without a radius, a default one: Tokyo is far from Paris.
      assert.deepEqual(ids(ok(await call(server, alice.token, 'search/location', { lat: 48.8, lon: 2.3 }))), [made.paris, made.london]);
    });

    it('search/location with a bad or missing lat/lon or radius: success false', async () => {
      failed(await call(server, alice.token, 'search/location', { lat: 91, lon: 0 }), /lat/);
      failed(await call(server, alice.token, 'search/location', { lat: 0, lon: -181 }), /lon/);
      failed(await call(server, alice.token, 'search/location', { lat: 'here', lon: 0 }), /lat/);
      failed(await call(server, alice.token, 'search/location', { lat: 10 }), /lon/);
      failed(await call(server, alice.token, 'search/location', {}), /lat/);
      failed(await call(server, alice.token, 'search/location', { lat: 1, lon: 1, radius: -1 }), /radius/);
    });
  });
}
