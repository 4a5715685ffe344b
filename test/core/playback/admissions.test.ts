/**
 * Viewer admission is a question to someone else (a StreamAPI site's login callback) that any
 * anonymous request can ask: answers are reused for a while (admissions longer than refusals),
 * one question asked twice at once is asked once, and questions in flight are capped per stream
 * and per address, so a flood of `?key=` requests costs the site at most a few calls at a time.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ViewerAdmissions, type AdmissionLimits } from '../../../src/core/playback/admissions.js';

const LIMITS: AdmissionLimits = { admittedTtlSeconds: 60, refusedTtlSeconds: 10, maxPerStream: 3, maxPerAddress: 2 };

/** A site that answers when told to, admitting the keys in `good`, and counts what it was asked. */
function fakeSite(good: string[] = []) {
  const asked: string[] = [];
  const pending: (() => void)[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let held = false;
  return {
    asked,
    get maxInFlight() {
      return maxInFlight;
    },
    hold() {
      held = true;
    },
    release() {
      held = false;
      for (const go of pending.splice(0)) go();
    },
    ask: async (streamId: string, key: string, address: string): Promise<string | undefined> => {
      asked.push(`${streamId}/${key}/${address}`);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (held) await new Promise<void>((resolve) => pending.push(resolve));
      inFlight--;
      return good.includes(key) ? `token-for-${key}` : undefined;
    },
  };
}

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('viewer admissions', () => {
  it('asks once and reuses an admission for its time, a refusal for its shorter time', async () => {
    const site = fakeSite(['good']);
    const time = clock();
    const admissions = new ViewerAdmissions(LIMITS, site.ask, time.now);
    for (let i = 0; i < 5; i++) assert.deepEqual(await admissions.admit('s1', 'good', '10.0.0.1'), { admitted: true, token: 'token-for-good' });
    for (let i = 0; i < 5; i++) assert.deepEqual(await admissions.admit('s1', 'bad', '10.0.0.1'), { admitted: false, reason: 'refused' });
    assert.deepEqual(site.asked, ['s1/good/10.0.0.1', 's1/bad/10.0.0.1']);

    // Another address or stream is another question.
    await admissions.admit('s1', 'bad', '10.0.0.2');
    await admissions.admit('s2', 'bad', '10.0.0.1');
    assert.equal(site.asked.length, 4);

    time.advance(10_001);
    await admissions.admit('s1', 'bad', '10.0.0.1');
    await admissions.admit('s1', 'good', '10.0.0.1');
    assert.equal(site.asked.length, 5, 'the refusal expired, the admission did not');
    time.advance(50_000);
    await admissions.admit('s1', 'good', '10.0.0.1');
    assert.equal(site.asked.length, 6, 'the admission expired');
  });

  it('asks a question once while it is in flight, however many ask it', async () => {
    const site = fakeSite(['good']);
    site.hold();
    const admissions = new ViewerAdmissions(LIMITS, site.ask);
    const answers = Array.from({ length: 10 }, () => admissions.admit('s1', 'good', '10.0.0.1'));
    site.release();
    for (const answer of await Promise.all(answers)) assert.deepEqual(answer, { admitted: true, token: 'token-for-good' });
    assert.equal(site.asked.length, 1);
  });

  it('caps the questions in flight per address and per stream; the rest are answered busy at once, not asked, not remembered', async () => {
    const site = fakeSite(['k0']);
    site.hold();
    const admissions = new ViewerAdmissions(LIMITS, site.ask);
    // One address, many keys: 2 in flight.
    const fromOne = Array.from({ length: 6 }, (_, i) => admissions.admit('s1', `k${i}`, '10.0.0.1'));
    // Many addresses on one stream: 3 in flight for the stream in all (2 already).
    const toOne = Array.from({ length: 4 }, (_, i) => admissions.admit('s1', `x${i}`, `10.0.1.${i}`));
    // Another stream from a new address is not held back.
    const elsewhere = admissions.admit('s2', 'y', '10.0.2.1');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(site.asked.length, 4, site.asked.join(', '));
    site.release();
    const one = await Promise.all(fromOne);
    assert.deepEqual(one.slice(2), Array(4).fill({ admitted: false, reason: 'busy' }));
    assert.deepEqual(one[0], { admitted: true, token: 'token-for-k0' });
    const many = await Promise.all(toOne);
    assert.equal(many.filter((a) => !a.admitted && a.reason === 'busy').length, 3);
    assert.deepEqual(await elsewhere, { admitted: false, reason: 'refused' });
    assert.equal(site.maxInFlight, 4);

    // Busy is not an answer of the site: asked again now that there is room.
    assert.deepEqual(await admissions.admit('s1', 'k5', '10.0.0.1'), { admitted: false, reason: 'refused' });
    assert.equal(site.asked.length, 5);
  });

  it('a site that fails is a refusal, remembered like one', async () => {
    let calls = 0;
    const admissions = new ViewerAdmissions(LIMITS, async () => {
      calls++;
      throw new Error('connection refused');
    });
    assert.deepEqual(await admissions.admit('s1', 'k', '10.0.0.1'), { admitted: false, reason: 'refused' });
    assert.deepEqual(await admissions.admit('s1', 'k', '10.0.0.1'), { admitted: false, reason: 'refused' });
    assert.equal(calls, 1);
  });

  it('remembers a bounded number of answers, forgetting the oldest first', async () => {
    const site = fakeSite();
    const admissions = new ViewerAdmissions({ ...LIMITS, maxRemembered: 100 }, site.ask);
    for (let i = 0; i < 150; i++) await admissions.admit('s1', `k${i}`, '10.0.0.1');
    assert.equal(admissions.remembered, 100);
    await admissions.admit('s1', 'k149', '10.0.0.1');
    assert.equal(site.asked.length, 150, 'the newest are remembered');
    await admissions.admit('s1', 'k0', '10.0.0.1');
    assert.equal(site.asked.length, 151, 'the oldest were forgotten');
  });
});
