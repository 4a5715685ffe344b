import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, messageOf, request } from '../api.js';
import { useEvents } from '../events.js';
import { ConfirmDialog } from './ConfirmDialog.js';
import { ErrorMessage } from './ErrorMessage.js';
import './stream-sections.css';

/** A recording (Mux's asset): the fields shown here. */
interface Asset {
  id: string;
  created_at: string;
  status: string;
  duration?: number;
  is_live?: boolean;
  live_stream_id?: string;
  playback_ids?: { id: string; policy: string }[];
}

const ASSET_EVENTS = ['created', 'ready', 'live_stream_completed', 'errored', 'deleted'].map((t) => `video.asset.${t}`);

const assetPath = (id: string) => `/video/v1/assets/${encodeURIComponent(id)}`;

/** A length of time in words: `45 s`, `3 min 05 s`, `1 h 02 min`. */
export function durationText(seconds: number | undefined): string {
  const s = Math.max(0, Math.round(seconds ?? 0));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

function startText(createdAt: string): string {
  const ms = Number(createdAt) * 1000;
  return Number.isFinite(ms) ? new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : 'Unknown time';
}

/** The recordings of a stream's broadcasts, newest first: play one here, download it, delete it. */
export function Recordings({ streamId }: { streamId: string }) {
  const [assets, setAssets] = useState<Asset[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [playing, setPlaying] = useState<{ asset: Asset; playbackId: string } | null>(null);

  const load = useCallback(async () => {
    try {
      setAssets((await request<{ data: Asset[] }>('GET', `/video/v1/assets?limit=100&live_stream_id=${encodeURIComponent(streamId)}`)).data);
      setLoadError(null);
    } catch (err) {
      setLoadError(`Could not load the recordings: ${messageOf(err)}`);
    }
  }, [streamId]);

  useEffect(() => void load(), [load]);
  useEvents(
    ASSET_EVENTS,
    (type, body) => {
      const data = (body as { data?: Asset } | undefined)?.data;
      if (!data || data.live_stream_id !== streamId) return;
      if (type === 'video.asset.deleted') setPlaying((p) => (p?.asset.id === data.id ? null : p));
      void load();
    },
    () => void load(),
  );

  return (
    <section class="card stack" aria-labelledby="recordings-heading">
      <h2 id="recordings-heading">Recordings</h2>
      <p class="hint">Each broadcast is recorded. Play one here, download it as one video file (MPEG-TS), or delete it.</p>
      <ErrorMessage message={loadError} />
      {assets === null && !loadError && <p role="status">Loading the recordings…</p>}
      {assets !== null && assets.length === 0 && <p class="empty">No recordings yet: they appear here once the stream has been live.</p>}
      {assets !== null && assets.length > 0 && (
        <ul class="item-list" aria-label="Recordings">
          {assets.map((asset) => (
            <RecordingRow
              key={asset.id}
              asset={asset}
              onPlay={(playbackId) => setPlaying({ asset, playbackId })}
              onChanged={() => void load()}
              onDeleted={() => {
                setPlaying((p) => (p?.asset.id === asset.id ? null : p));
                setAssets((list) => list && list.filter((a) => a.id !== asset.id));
              }}
            />
          ))}
        </ul>
      )}
      {playing && <Player key={playing.playbackId} src={`/${playing.playbackId}.m3u8`} title={`Recording of ${startText(playing.asset.created_at)}`} onClose={() => setPlaying(null)} />}
    </section>
  );
}

function RecordingRow({ asset, onPlay, onChanged, onDeleted }: { asset: Asset; onPlay: (playbackId: string) => void; onChanged: () => void; onDeleted: () => void }) {
  const [asking, setAsking] = useState<'public' | 'delete' | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const when = startText(asset.created_at);
  const publicId = asset.playback_ids?.find((p) => p.policy === 'public')?.id;
  const recorded = asset.status === 'ready';

  const makePublicAndPlay = async () => {
    setAsking(null);
    setBusy('Making the recording playable…');
    setError(null);
    try {
      const added = (await request<{ data: { id: string } }>('POST', `${assetPath(asset.id)}/playback-ids`, { body: { policy: 'public' } })).data;
      onPlay(added.id);
      onChanged();
    } catch (err) {
      setError(`Could not make the recording playable: ${messageOf(err)}`);
    } finally {
      setBusy(null);
    }
  };

  const remove = async () => {
    setAsking(null);
    setBusy('Deleting…');
    setError(null);
    try {
      await request<void>('DELETE', assetPath(asset.id));
      onDeleted();
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) onDeleted();
      else setError(`Could not delete the recording: ${messageOf(err)}`);
      setBusy(null);
    }
  };

  return (
    <li class="item-row" aria-label={`Recording of ${when}`}>
      <div class="item-main">
        <strong class="item-title">
          <time dateTime={new Date(Number(asset.created_at) * 1000).toISOString()}>{when}</time>
        </strong>
        <span class="hint">
          {durationText(asset.duration)}
          {asset.is_live ? ' · recording now' : asset.status === 'errored' ? ' · nothing was recorded' : ''}
        </span>
      </div>
      <div class="actions">
        <button type="button" class="secondary" aria-label={`Play recording of ${when}`} disabled={!recorded} onClick={() => (publicId ? onPlay(publicId) : setAsking('public'))}>
          Play
        </button>
        {recorded ? (
          <a class="button secondary" href={`/app/api/assets/${encodeURIComponent(asset.id)}/download`} download={`${asset.id}.ts`} aria-label={`Download recording of ${when}`}>
            Download
          </a>
        ) : null}
        {!asset.is_live && (
          <button type="button" class="danger-outline" aria-label={`Delete recording of ${when}`} aria-disabled={busy !== null} onClick={() => busy === null && setAsking('delete')}>
            Delete
          </button>
        )}
        <span class="progress" role="status">
          {busy ?? ''}
        </span>
      </div>
      {error && (
        <div class="item-wide">
          <ErrorMessage message={error} />
        </div>
      )}
      <ConfirmDialog open={asking === 'public'} title="Make this recording public?" confirm="Make public and play" onConfirm={() => void makePublicAndPlay()} onCancel={() => setAsking(null)}>
        <p>This recording has no public playback id. Playing it here gives it one: anyone with its link can then watch it.</p>
      </ConfirmDialog>
      <ConfirmDialog open={asking === 'delete'} title="Delete this recording?" confirm="Delete recording" onConfirm={() => void remove()} onCancel={() => setAsking(null)}>
        <p>The recording of {when} ({durationText(asset.duration)}) is deleted with its media. This cannot be undone.</p>
      </ConfirmDialog>
    </li>
  );
}

/** An HLS player: hls.js where Media Source Extensions are, else the browser's own HLS. */
export function Player({ src, title, onClose }: { src: string; title: string; onClose?: () => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const element = video.current;
    if (!element) return;
    let destroyed = false;
    let hls: { destroy(): void } | undefined;
    void import('hls.js').then(
      ({ default: Hls }) => {
        if (destroyed) return;
        if (Hls.isSupported()) {
          const player = new Hls();
          hls = player;
          player.on(Hls.Events.ERROR, (_event, data) => {
            if (data.fatal) setError(`The recording could not be played (${data.details}).`);
          });
          player.loadSource(src);
          player.attachMedia(element);
        } else if (element.canPlayType('application/vnd.apple.mpegurl')) {
          element.src = src;
        } else {
          setError('This browser cannot play HLS video.');
          return;
        }
        element.play().catch(() => undefined);
      },
      () => setError('The player could not be loaded. Reload the page and try again.'),
    );
    return () => {
      destroyed = true;
      hls?.destroy();
    };
  }, [src]);
  return (
    <div class="recording-player stack">
      <div class="section-head">
        <h3>{title}</h3>
        {onClose && (
          <button type="button" class="secondary" onClick={onClose}>
            Close player
          </button>
        )}
      </div>
      <video ref={video} controls playsInline aria-label={title} class="video" />
      <ErrorMessage message={error} />
    </div>
  );
}
