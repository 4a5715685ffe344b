/**
 * A stream's `Live` section: a muted preview that starts by itself when the stream goes live,
 * and the input as the server's media plane sees it (codecs, picture, bitrate with a graph of the
 * last five minutes, viewers, uptime, the reconnect state), asked for every two seconds while
 * the stream is live and the page is open.
 */
import type Hls from 'hls.js';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { messageOf, request } from '../api.js';
import { audioText, bitrateText, durationText, LIVE_POLL_MS, publicPlaybackId, reconnectText, videoText, type LiveAnswer, type LiveStats, type LiveSummary } from '../live.js';
import type { LiveStream } from '../state.js';
import { ErrorMessage } from './ErrorMessage.js';
import './LiveSection.css';

export const fetchLive = (id: string) => request<LiveAnswer>('GET', `/app/api/streams/${encodeURIComponent(id)}/live`);
export const fetchLiveList = async (): Promise<LiveSummary[]> => (await request<{ data: LiveSummary[] }>('GET', '/app/api/live')).data;

/** Calls `work` now and every LIVE_POLL_MS while `enabled`; a slow answer is never overtaken. */
export function usePolling(enabled: boolean, work: () => Promise<void>, deps: unknown[]): void {
  useEffect(() => {
    if (!enabled) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      await work().catch(() => {});
      if (!stopped) timer = setTimeout(() => void tick(), LIVE_POLL_MS);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [enabled, ...deps]);
}

/** The stream's live numbers while it is active: null before the first answer. */
function useLiveStats(id: string, active: boolean): { stats: LiveAnswer | null; error: string | null } {
  const [stats, setStats] = useState<LiveAnswer | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!active) setStats(null);
  }, [active]);
  usePolling(
    active,
    async () => {
      try {
        setStats(await fetchLive(id));
        setError(null);
      } catch (err) {
        setError(`Could not read the live numbers: ${messageOf(err)}`);
      }
    },
    [id],
  );
  return { stats, error };
}

export function LiveSection({ stream }: { stream: LiveStream }) {
  const active = stream.status === 'active';
  const { stats, error } = useLiveStats(stream.id, active);
  const playbackId = publicPlaybackId(stream);
  const live = stats?.live ? stats : null;
  const reconnecting = live ? reconnectText(live) : null;

  return (
    <section class="card stack live-section" aria-labelledby="live-heading">
      <h2 id="live-heading">Live</h2>
      {playbackId ? (
        <Preview src={`/${playbackId}.m3u8`} playing={active && (live?.publisherConnected ?? false)} />
      ) : (
        <p class="hint">This stream has no public playback id, so there is no preview. Add a public playback id to see it here.</p>
      )}
      <p class="live-state" role="status">
        {!active ? 'Not live. Start your encoder: the preview starts by itself.' : reconnecting ? <strong class="reconnecting">{reconnecting}</strong> : live ? 'Receiving from the encoder.' : stats ? 'Live on another server node: no numbers here.' : 'Live. Reading the numbers…'}
      </p>
      {active && live && (
        <>
          <dl class="live-facts">
            <div>
              <dt>Video</dt>
              <dd data-fact="video">{videoText(live.video)}</dd>
            </div>
            <div>
              <dt>Audio</dt>
              <dd data-fact="audio">{audioText(live.audio)}</dd>
            </div>
            <div>
              <dt>Bitrate</dt>
              <dd data-fact="bitrate">{bitrateText(live.bitrateKbps)}</dd>
            </div>
            <div>
              <dt>Viewers</dt>
              <dd data-fact="viewers">{live.viewers}</dd>
            </div>
            <div>
              <dt>Uptime</dt>
              <dd data-fact="uptime">{durationText(live.uptimeSeconds)}</dd>
            </div>
          </dl>
          <BitrateChart samples={live.bitrate} />
        </>
      )}
      <ErrorMessage message={error} />
    </section>
  );
}

/** A muted player that plays the live HLS while `playing`, and tries again when the playlist is not there yet. */
function Preview({ src, playing }: { src: string; playing: boolean }) {
  const video = useRef<HTMLVideoElement>(null);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    const element = video.current;
    if (!element || !playing) return;
    let hls: Hls | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const start = async () => {
      // hls.js is loaded with the first preview: the rest of the app does not wait for it.
      const { default: Hls } = await import('hls.js');
      if (stopped) return;
      element.muted = true;
      if (Hls.isSupported()) {
        hls = new Hls({ liveDurationInfinity: true, lowLatencyMode: false });
        hls.on(Hls.Events.ERROR, (_event, data) => {
          if (!data.fatal) return;
          setProblem('The preview could not load yet; trying again…');
          hls?.destroy();
          hls = undefined;
          retry = setTimeout(() => void start(), 2_000);
        });
        hls.on(Hls.Events.MANIFEST_PARSED, () => {
          setProblem(null);
          void element.play().catch(() => {});
        });
        hls.loadSource(src);
        hls.attachMedia(element);
      } else if (element.canPlayType('application/vnd.apple.mpegurl')) {
        element.src = src;
        void element.play().catch(() => {});
      } else {
        setProblem('This browser cannot play the preview.');
      }
    };
    void start();
    return () => {
      stopped = true;
      clearTimeout(retry);
      hls?.destroy();
      element.removeAttribute('src');
      element.load();
      setProblem(null);
    };
  }, [src, playing]);

  return (
    <div class="preview">
      <video ref={video} class="preview-video" muted playsInline controls aria-label="Live preview" />
      {problem && <p class="hint">{problem}</p>}
    </div>
  );
}

/** The CSS colour of a custom property, for the canvas. */
function cssColor(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

function useDarkScheme(): boolean {
  const [dark, setDark] = useState(() => matchMedia('(prefers-color-scheme: dark)').matches);
  useEffect(() => {
    const query = matchMedia('(prefers-color-scheme: dark)');
    const change = () => setDark(query.matches);
    query.addEventListener('change', change);
    return () => query.removeEventListener('change', change);
  }, []);
  return dark;
}

/** The input bitrate over the last five minutes, in kbit/s. */
function BitrateChart({ samples }: { samples: LiveStats['bitrate'] }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const dark = useDarkScheme();
  const data = (): uPlot.AlignedData => [samples.map((s) => s.at / 1000), samples.map((s) => s.kbps)];

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const text = cssColor('--text', dark ? '#e7eaee' : '#1b1f24');
    const grid = cssColor('--border', dark ? '#39414b' : '#d4d9e0');
    const accent = cssColor('--accent', dark ? '#6ea2ff' : '#1d5fd1');
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const plot = new uPlot(
      {
        width: Math.max(200, element.clientWidth),
        height: 160,
        legend: { show: false },
        cursor: { show: false },
        // At least a minute across, so a young stream's first samples are not drawn a millisecond apart.
        scales: { x: { time: true, range: (_u, min, max) => [Math.min(min, max - 60), max] }, y: { range: (_u, _min, max) => [0, Math.max(100, Math.ceil((max * 1.15) / 100) * 100)] } },
        series: [{}, { label: 'kbit/s', stroke: accent, width: 2, fill: `${accent}22`, points: { show: false } }],
        axes: [axis, { ...axis, size: 56, values: (_u, ticks) => ticks.map((t) => `${t}`) }],
      },
      data(),
      element,
    );
    chart.current = plot;
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(200, element.clientWidth), height: 160 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
      chart.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [dark]);

  useEffect(() => {
    chart.current?.setData(data());
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [samples]);

  const latest = samples.at(-1);
  const label = latest ? `Input bitrate over the last five minutes, in kbit/s; now ${latest.kbps} kbit/s` : 'Input bitrate over the last five minutes: no sample yet';
  return (
    <figure class="bitrate-chart">
      <figcaption>Bitrate, last five minutes (kbit/s)</figcaption>
      <div ref={box} role="img" aria-label={label} class="bitrate-plot" />
    </figure>
  );
}
