import { useCallback, useEffect, useState } from 'preact/hooks';
import { createStream, listStreams, messageOf } from '../api.js';
import { Badge } from '../components/Badge.js';
import { ErrorMessage } from '../components/ErrorMessage.js';
import { Link } from '../components/Link.js';
import { fetchLiveList, usePolling } from '../components/LiveSection.js';
import { useStreamChanges } from '../events.js';
import { useHeading } from '../focus.js';
import { durationText, type LiveSummary } from '../live.js';
import { navigate } from '../router.js';
import { applyToList, pathOf, streamTitle, type LiveStream } from '../state.js';

function createdOn(stream: LiveStream): string | null {
  const seconds = Number(stream.created_at);
  if (!Number.isFinite(seconds) || seconds <= 0) return null;
  return new Date(seconds * 1000).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** The account's streams, newest first, each with its live status as it changes. */
export function Streams() {
  const heading = useHeading('Streams');
  const [streams, setStreams] = useState<LiveStream[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setStreams(await listStreams());
      setLoadError(null);
    } catch (err) {
      setLoadError(`Could not load the streams: ${messageOf(err)}`);
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);
  useStreamChanges((change) => setStreams((list) => (list ? applyToList(list, change) : list)), load);
  // Viewers and uptime of the live streams, asked for every two seconds while any is live.
  const [live, setLive] = useState<Map<string, LiveSummary>>(new Map());
  const anyLive = streams?.some((s) => s.status === 'active') ?? false;
  usePolling(anyLive, async () => setLive(new Map((await fetchLiveList()).map((s) => [s.id, s]))), []);

  return (
    <main id="main" class="page">
      <div class="page-head">
        <h1 ref={heading} tabIndex={-1}>
          Streams
        </h1>
      </div>
      <NewStream />
      <section aria-labelledby="list-heading" class="stack">
        <h2 id="list-heading" class="visually-hidden">
          Your streams
        </h2>
        {loadError && (
          <div class="card">
            <ErrorMessage message={loadError} />
            <button type="button" class="secondary" onClick={() => void load()}>
              Try again
            </button>
          </div>
        )}
        {streams === null && !loadError && <p role="status">Loading streams…</p>}
        {streams !== null && streams.length === 0 && <p class="empty">No streams yet. Make one with New stream, then point your encoder at it.</p>}
        {streams !== null && streams.length > 0 && (
          <ul class="stream-list">
            {streams.map((stream) => (
              <li key={stream.id} class="stream-row">
                <Link href={pathOf({ name: 'stream', id: stream.id })} class="stream-link">
                  {streamTitle(stream)}
                </Link>
                <span class="stream-created">{createdOn(stream)}</span>
                {stream.status === 'active' && live.has(stream.id) && <LiveNumbers summary={live.get(stream.id)!} />}
                <Badge status={stream.status} />
              </li>
            ))}
          </ul>
        )}
      </section>
    </main>
  );
}

/** Viewers now and uptime of a live stream in the list. */
function LiveNumbers({ summary }: { summary: LiveSummary }) {
  return (
    <span class="stream-live-numbers">
      {summary.viewers === 1 ? '1 viewer' : `${summary.viewers} viewers`} · up {durationText(summary.uptimeSeconds)}
      {summary.publisherConnected ? '' : summary.reconnectSecondsLeft !== null ? ` · reconnecting, ${summary.reconnectSecondsLeft} s left` : ''}
    </span>
  );
}

/** `New stream`, with an optional title: makes the stream and opens its page. */
function NewStream() {
  const [title, setTitle] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      class="card new-stream"
      onSubmit={async (event) => {
        event.preventDefault();
        if (busy) return;
        setBusy(true);
        setError(null);
        try {
          const stream = await createStream(title);
          navigate(pathOf({ name: 'stream', id: stream.id }));
        } catch (err) {
          setError(`Could not make the stream: ${messageOf(err)}`);
          setBusy(false);
        }
      }}
    >
      <div class="field grow">
        <label for="new-title">Title (optional)</label>
        <input id="new-title" maxLength={512} value={title} onInput={(e) => setTitle(e.currentTarget.value)} placeholder="Friday night show" />
      </div>
      <div class="actions">
        <button type="submit" aria-disabled={busy}>
          New stream
        </button>
        <span class="progress" role="status">
          {busy ? 'Making the stream…' : ''}
        </span>
      </div>
      <ErrorMessage message={error} />
    </form>
  );
}
