/**
 * The public watch page, `/watch/<playback_id>` (and `/embed/<playback_id>`, the same without
 * chrome, for iframes): the player, the title, a `Live` badge and the viewer count, and the
 * chat. Offline, it says so and offers the latest recording. A signed id takes `?token=`, which
 * goes along to the playlist and the chat. No sign-in.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, messageOf, request } from '../api.js';
import { ChatPanel } from '../components/ChatPanel.js';
import { ErrorMessage } from '../components/ErrorMessage.js';

interface WatchInfo {
  title: string | null;
  status: string;
  live: boolean;
  viewers: number;
  kind: 'stream' | 'recording';
  latestRecording: { playbackId: string } | null;
}

/** The playback id and whether it is the embed, from the address. */
export function watchRouteOf(pathname: string): { playbackId: string; embed: boolean } | null {
  const match = /^\/(watch|embed)\/([A-Za-z0-9]+)\/?$/.exec(pathname);
  return match ? { playbackId: match[2]!, embed: match[1] === 'embed' } : null;
}

function Player({ src, label }: { src: string; label: string }) {
  const video = useRef<HTMLVideoElement>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const el = video.current;
    if (!el) return;
    let destroy: (() => void) | undefined;
    let gone = false;
    setError(null);
    void import('hls.js').then(({ default: Hls }) => {
      if (gone) return;
      if (Hls.isSupported()) {
        const hls = new Hls({ liveDurationInfinity: true });
        hls.on(Hls.Events.ERROR, (_event, data) => {
          if (data.fatal) setError(`The video could not play: ${data.details}.`);
        });
        hls.loadSource(src);
        hls.attachMedia(el);
        destroy = () => hls.destroy();
      } else if (el.canPlayType('application/vnd.apple.mpegurl')) {
        el.src = src;
      } else {
        setError('This browser cannot play HLS video.');
      }
      void el.play().catch(() => undefined);
    });
    return () => {
      gone = true;
      destroy?.();
    };
  }, [src]);
  return (
    <>
      <video ref={video} class="player" controls muted autoplay playsInline aria-label={label} />
      <ErrorMessage message={error} />
    </>
  );
}

export function Watch({ playbackId, embed }: { playbackId: string; embed: boolean }) {
  const token = new URLSearchParams(location.search).get('token') ?? undefined;
  const q = token ? `?token=${encodeURIComponent(token)}` : '';
  const [info, setInfo] = useState<WatchInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [recording, setRecording] = useState<string | null>(null);
  const [viewers, setViewers] = useState<number | null>(null);

  useEffect(() => {
    let stopped = false;
    const load = async () => {
      try {
        const next = await request<WatchInfo>('GET', `/app/api/watch/${encodeURIComponent(playbackId)}${q}`, { authFlow: true });
        if (stopped) return;
        setInfo(next);
        setError(null);
      } catch (err) {
        if (stopped) return;
        setError(err instanceof ApiError && err.status === 404 ? 'There is nothing to watch here: no such stream, or it was deleted.' : messageOf(err));
      }
    };
    void load();
    // Going live or offline shows within a few seconds.
    const timer = setInterval(() => void load(), 3000);
    return () => ((stopped = true), clearInterval(timer));
  }, [playbackId, q]);

  useEffect(() => {
    document.title = `${info?.title || 'Live stream'} · streamdelta`;
  }, [info?.title]);

  const title = info?.title || 'Untitled stream';
  const shownViewers = info?.live ? (viewers ?? info.viewers) : 0;
  return (
    <main id="main" class={embed ? 'watch embed' : 'watch'}>
      {!embed && (
        <div class="watch-head">
          <h1>{info ? title : 'Live stream'}</h1>
          {info?.live && <span class="badge badge-live">Live</span>}
          {info?.live && (
            <span role="status" aria-label="Viewers">
              {shownViewers} {shownViewers === 1 ? 'viewer' : 'viewers'}
            </span>
          )}
        </div>
      )}
      <ErrorMessage message={error} />
      {!info && !error && <p role="status">Loading…</p>}
      {info && (
        <div class={embed ? '' : 'watch-grid'}>
          <div class="stack">
            {embed && (
              <p class="watch-head">
                <strong>{title}</strong> {info.live && <span class="badge badge-live">Live</span>}
              </p>
            )}
            {info.live && info.kind === 'stream' ? (
              <Player src={`/${playbackId}.m3u8${q}`} label={`${title}, live`} />
            ) : recording ? (
              <Player src={`/${recording}.m3u8${recording === playbackId ? q : ''}`} label={`${title}, recording`} />
            ) : (
              <div class="offline">
                <p>
                  <strong>{info.kind === 'recording' ? 'This is a recording.' : 'This stream is offline.'}</strong>
                </p>
                {info.latestRecording ? (
                  <button type="button" onClick={() => setRecording(info.latestRecording!.playbackId)}>
                    {info.kind === 'recording' ? 'Play the recording' : 'Watch the latest recording'}
                  </button>
                ) : (
                  <p class="hint">It will play here when it goes live.</p>
                )}
              </div>
            )}
          </div>
          {/* A recording has no chat: its stream's is for those who may watch the stream itself. */}
          {!embed && info?.kind === 'stream' && <ChatPanel room={playbackId} token={token} mode="guest" onViewers={setViewers} />}
        </div>
      )}
    </main>
  );
}
