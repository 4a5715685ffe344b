import type { Recording } from '../../core/broadcasts/broadcasts.js';
import { renderLivePlaylist, targetDurationOf } from '../../media/wire/hls/playlist.js';
import { segmentFileName } from '../../media/hls/recorder.js';

/**
 * The live playlist of a broadcast no media session on this node packages (one fed by segment
 * uploads, or an RTMP publisher on another node), built from its recorded segments: the last
 * `window` of them, the media sequence that of the first listed, the discontinuities that left
 * the window counted, and a target duration that only grows (the longest segment so far).
 */
export function recordedLivePlaylist(recording: Recording, window: number): string {
  const all = recording.segments;
  const start = Math.max(0, all.length - window);
  const listed = all.slice(start);
  return renderLivePlaylist(
    listed.map((s) => ({ sequence: s.sequence, uri: `${recording.broadcast.id}/${segmentFileName(s.sequence)}`, duration: s.duration, discontinuity: s.discontinuity })),
    {
      discontinuitySequence: all.slice(0, start).filter((s) => s.discontinuity).length,
      targetDuration: targetDurationOf(all),
    },
  );
}
