import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LivePlaylist, renderEventPlaylist, renderLivePlaylist, renderVodPlaylist, targetDurationOf, type PlaylistEntry } from '../../../../src/media/wire/hls/playlist.js';

function entry(sequence: number, duration: number, discontinuity = false): PlaylistEntry {
  return { sequence, uri: `seg-${String(sequence).padStart(5, '0')}.ts`, duration, discontinuity };
}

describe('live playlist', () => {
  it('renders the window with media sequence, target duration and 3-decimal durations', () => {
    const text = renderLivePlaylist([entry(42, 2.002), entry(43, 1.9996), entry(44, 2.5)]);
    assert.equal(
      text,
      [
        '#EXTM3U',
        '#EXT-X-VERSION:3',
        '#EXT-X-TARGETDURATION:3',
        '#EXT-X-MEDIA-SEQUENCE:42',
        '#EXTINF:2.002,',
        'seg-00042.ts',
        '#EXTINF:2.000,',
        'seg-00043.ts',
        '#EXTINF:2.500,',
        'seg-00044.ts',
        '',
      ].join('\n'),
    );
  });

  it('marks discontinuities, and counts those that slid out of the window', () => {
    const text = renderLivePlaylist([entry(7, 2), entry(8, 2, true)], { discontinuitySequence: 2, targetDuration: 4 });
    assert.equal(
      text,
      [
        '#EXTM3U',
        '#EXT-X-VERSION:3',
        '#EXT-X-TARGETDURATION:4',
        '#EXT-X-MEDIA-SEQUENCE:7',
        '#EXT-X-DISCONTINUITY-SEQUENCE:2',
        '#EXTINF:2.000,',
        'seg-00007.ts',
        '#EXT-X-DISCONTINUITY',
        '#EXTINF:2.000,',
        'seg-00008.ts',
        '',
      ].join('\n'),
    );
  });

  it('renders an empty window and an ended broadcast', () => {
    assert.equal(renderLivePlaylist([], { mediaSequence: 5 }), '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:5\n');
    assert.ok(renderLivePlaylist([entry(0, 2)], { ended: true }).endsWith('seg-00000.ts\n#EXT-X-ENDLIST\n'));
  });
});

describe('target duration', () => {
  it('is the ceiling of the longest duration as written, and at least 1', () => {
    assert.equal(targetDurationOf([{ duration: 2 }, { duration: 2.0001 }]), 2, '2.0001 is written 2.000');
    assert.equal(targetDurationOf([{ duration: 2 }, { duration: 2.001 }]), 3);
    assert.equal(targetDurationOf([{ duration: 0.2 }]), 1);
    assert.equal(targetDurationOf([]), 1);
  });
});

describe('sliding window', () => {
  it('keeps the newest segments and says which left', () => {
    const live = new LivePlaylist(3);
    assert.deepEqual(live.add(entry(0, 2)), []);
    live.add(entry(1, 2));
    live.add(entry(2, 2));
    assert.deepEqual(live.add(entry(3, 2)), [entry(0, 2)]);
    assert.deepEqual(live.segments.map((s) => s.sequence), [1, 2, 3]);
    assert.match(live.render(), /#EXT-X-MEDIA-SEQUENCE:1\n/);
  });

  it('counts a discontinuity only once its segment has left the window', () => {
    const live = new LivePlaylist(2);
    live.add(entry(0, 2));
    live.add(entry(1, 2, true));
    live.add(entry(2, 2));
    let text = live.render();
    assert.doesNotMatch(text, /DISCONTINUITY-SEQUENCE/);
    assert.match(text, /#EXT-X-DISCONTINUITY\n#EXTINF:2.000,\nseg-00001.ts/);
    live.add(entry(3, 2, true));
    text = live.render();
    assert.match(text, /#EXT-X-DISCONTINUITY-SEQUENCE:1\n/);
    assert.match(text, /#EXT-X-MEDIA-SEQUENCE:2\n/);
    live.add(entry(4, 2));
    live.add(entry(5, 2));
    assert.match(live.render(), /#EXT-X-DISCONTINUITY-SEQUENCE:2\n/);
  });

  it('never lowers the target duration once a long segment was listed', () => {
    const live = new LivePlaylist(2);
    live.add(entry(0, 5.5));
    live.add(entry(1, 2));
    live.add(entry(2, 2));
    assert.match(live.render(), /#EXT-X-TARGETDURATION:6\n/);
  });

  it('ends with #EXT-X-ENDLIST once the broadcast ended', () => {
    const live = new LivePlaylist(2);
    live.add(entry(0, 2));
    live.end();
    assert.ok(live.render().endsWith('#EXT-X-ENDLIST\n'));
  });

  it('refuses a window of no segments', () => {
    assert.throws(() => new LivePlaylist(0), RangeError);
  });
});

describe('VOD playlist', () => {
  it('lists every segment, marks discontinuities and ends the list', () => {
    const text = renderVodPlaylist([entry(0, 2), entry(1, 1.5), entry(2, 2.05, true)]);
    assert.equal(
      text,
      [
        '#EXTM3U',
        '#EXT-X-VERSION:3',
        '#EXT-X-PLAYLIST-TYPE:VOD',
        '#EXT-X-TARGETDURATION:3',
        '#EXT-X-MEDIA-SEQUENCE:0',
        '#EXTINF:2.000,',
        'seg-00000.ts',
        '#EXTINF:1.500,',
        'seg-00001.ts',
        '#EXT-X-DISCONTINUITY',
        '#EXTINF:2.050,',
        'seg-00002.ts',
        '#EXT-X-ENDLIST',
        '',
      ].join('\n'),
    );
  });
});

describe('EVENT playlist', () => {
  it('lists every segment from the first while live, then only appends #EXT-X-ENDLIST', () => {
    const live = renderEventPlaylist([entry(0, 2), entry(1, 2.5, true)], { ended: false });
    assert.equal(
      live,
      [
        '#EXTM3U',
        '#EXT-X-VERSION:3',
        '#EXT-X-PLAYLIST-TYPE:EVENT',
        '#EXT-X-TARGETDURATION:3',
        '#EXT-X-MEDIA-SEQUENCE:0',
        '#EXTINF:2.000,',
        'seg-00000.ts',
        '#EXT-X-DISCONTINUITY',
        '#EXTINF:2.500,',
        'seg-00001.ts',
        '',
      ].join('\n'),
    );
    assert.equal(renderEventPlaylist([entry(0, 2), entry(1, 2.5, true)], { ended: true }), `${live}#EXT-X-ENDLIST\n`);
  });
});
