import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ticker, tickerEvery } from '../../../src/media/live/ticker.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Ticker', () => {
  it('runs every job each period on one timer, and has none once the last job stops', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const ticker = new Ticker(1000);
    const runs = { a: 0, b: 0 };
    const stopA = ticker.add(() => runs.a++);
    const stopB = ticker.add(() => runs.b++);
    t.mock.timers.tick(2000);
    assert.deepEqual(runs, { a: 2, b: 2 });
    stopA();
    t.mock.timers.tick(1000);
    assert.deepEqual(runs, { a: 2, b: 3 });
    stopB();
    assert.equal(ticker.size, 0);
    t.mock.timers.tick(5000);
    assert.deepEqual(runs, { a: 2, b: 3 });
  });

  it('goes on with the other jobs when one throws, and the error still surfaces', async () => {
    const ticker = new Ticker(5);
    let runs = 0;
    const surfaced: unknown[] = [];
    const listeners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', (err) => surfaced.push(err));
    const stopBad = ticker.add(() => {
      throw new Error('boom');
    });
    const stopGood = ticker.add(() => runs++);
    try {
      await sleep(40);
    } finally {
      stopBad();
      stopGood();
      process.removeAllListeners('uncaughtException');
      for (const l of listeners) process.on('uncaughtException', l);
    }
    assert.ok(runs >= 2, `the good job ran ${runs} times`);
    assert.ok(surfaced.length >= 2 && surfaced.every((e) => (e as Error).message === 'boom'));
  });

  it('shares one ticker per period across the process', () => {
    assert.equal(tickerEvery(1234), tickerEvery(1234));
    assert.notEqual(tickerEvery(1234), tickerEvery(4321));
  });
});
