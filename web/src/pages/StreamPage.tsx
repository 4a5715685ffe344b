import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, getStream, messageOf, resetStreamKey, setStreamEnabled, updateStream } from '../api.js';
import { Badge } from '../components/Badge.js';
import { ConfirmDialog } from '../components/ConfirmDialog.js';
import { CopyButton } from '../components/CopyButton.js';
import { ChatPanel } from '../components/ChatPanel.js';
import { ErrorMessage } from '../components/ErrorMessage.js';
import { Link } from '../components/Link.js';
import { Playback } from '../components/Playback.js';
import { Recordings } from '../components/Recordings.js';
import { SimulcastTargets } from '../components/SimulcastTargets.js';
import { LiveSection } from '../components/LiveSection.js';
import { useStreamChanges } from '../events.js';
import { useHeading } from '../focus.js';
import { applyToStream, ffmpegCommand, masked, parseReconnectWindow, RECONNECT_WINDOW, settingsBody, streamTitle, type LiveStream } from '../state.js';

/** One stream: its status as it changes, how to connect an encoder, and its settings. */
export function StreamPage({ id, rtmpUrl }: { id: string; rtmpUrl: string }) {
  const [stream, setStream] = useState<LiveStream | null>(null);
  const [loadError, setLoadError] = useState<{ message: string; missing: boolean } | null>(null);
  const heading = useHeading(stream ? streamTitle(stream) : loadError?.missing ? 'Stream not found' : 'Stream');

  const load = useCallback(async () => {
    try {
      setStream(await getStream(id));
      setLoadError(null);
    } catch (err) {
      const missing = err instanceof ApiError && err.status === 404;
      setLoadError({ message: missing ? 'There is no such stream, or it was deleted.' : `Could not load the stream: ${messageOf(err)}`, missing });
    }
  }, [id]);

  useEffect(() => {
    setStream(null);
    setLoadError(null);
    void load();
  }, [load]);
  useStreamChanges((change) => {
    if (change.kind === 'remove' && change.id === id) setLoadError({ message: 'This stream was deleted.', missing: true });
    setStream((current) => (current ? applyToStream(current, change) : current));
  }, load);

  return (
    <main id="main" class="page">
      <p class="crumbs">
        <Link href="/app/">← All streams</Link>
      </p>
      <div class="page-head">
        <h1 ref={heading} tabIndex={-1}>
          {stream ? streamTitle(stream) : loadError?.missing ? 'Stream not found' : 'Stream'}
        </h1>
        <span role="status" aria-label="Status">
          {stream && <Badge status={stream.status} />}
        </span>
      </div>
      {loadError && (
        <div class="card">
          <ErrorMessage message={loadError.message} />
          {!loadError.missing && (
            <button type="button" class="secondary" onClick={() => void load()}>
              Try again
            </button>
          )}
        </div>
      )}
      {!stream && !loadError && <p role="status">Loading the stream…</p>}
      {stream && !loadError?.missing && <LiveSection stream={stream} />}
      {stream && !loadError?.missing && (
        <div class="columns">
          <Connect stream={stream} rtmpUrl={rtmpUrl} onChanged={setStream} />
          <ChatPanel room={stream.id} mode="owner" />
          <Settings stream={stream} onChanged={setStream} reload={load} />
        </div>
      )}
      {stream && !loadError?.missing && <SimulcastTargets streamId={stream.id} />}
      {stream && !loadError?.missing && <Recordings streamId={stream.id} />}
      {stream && !loadError?.missing && <Playback stream={stream} onChanged={setStream} />}
    </main>
  );
}

function Connect({ stream, rtmpUrl, onChanged }: { stream: LiveStream; rtmpUrl: string; onChanged: (stream: LiveStream) => void }) {
  const [shown, setShown] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const key = stream.stream_key;

  const reset = async () => {
    setConfirming(false);
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      onChanged(await resetStreamKey(stream.id));
      setDone('The stream key was reset. Encoders must use the new key from now on.');
    } catch (err) {
      setError(`Could not reset the key: ${messageOf(err)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card stack" aria-labelledby="connect-heading">
      <h2 id="connect-heading">Connect</h2>
      <p class="hint">Point your encoder (OBS, ffmpeg, a camera) at this server with this stream key. Anyone with the key can broadcast on this stream: keep it secret.</p>
      <div class="field">
        <label for="server">Server</label>
        <div class="copy-row">
          <input id="server" readOnly value={rtmpUrl} class="mono" spellcheck={false} />
          <CopyButton value={rtmpUrl} what="server" />
        </div>
      </div>
      <div class="field">
        <label for="stream-key">Stream key</label>
        <div class="copy-row">
          {shown ? <input id="stream-key" readOnly type="text" value={key} class="mono" spellcheck={false} autocomplete="off" /> : <input id="stream-key" readOnly type="password" value={key} class="mono" autocomplete="off" />}
          <button type="button" class="secondary" aria-controls="stream-key" onClick={() => setShown(!shown)}>
            {shown ? 'Hide key' : 'Show key'}
          </button>
          <CopyButton value={key} what="stream key" />
        </div>
        <div class="actions">
          <button type="button" class="danger-outline" aria-disabled={busy} onClick={() => !busy && setConfirming(true)}>
            Reset key
          </button>
          <span class="progress" role="status">
            {busy ? 'Resetting the key…' : done}
          </span>
        </div>
        <ErrorMessage message={error} />
      </div>
      <ConfirmDialog open={confirming} title="Reset the stream key?" confirm="Reset key" onConfirm={() => void reset()} onCancel={() => setConfirming(false)}>
        <p>A new key replaces this one at once. An encoder using the old key is disconnected and cannot connect again until it is given the new key.</p>
      </ConfirmDialog>

      <h3>OBS Studio</h3>
      <ol class="steps">
        <li>
          Open <strong>Settings → Stream</strong>.
        </li>
        <li>
          Set <strong>Service</strong> to <strong>Custom…</strong>
        </li>
        <li>
          Set <strong>Server</strong> to <code class="mono">{rtmpUrl}</code>
        </li>
        <li>
          Set <strong>Stream Key</strong> to the stream key above{shown ? ': ' : ' (Show key shows it; Copy copies it).'}
          {shown && <code class="mono">{key}</code>}
        </li>
        <li>
          Press <strong>OK</strong>, then <strong>Start Streaming</strong>.
        </li>
      </ol>

      <h3>ffmpeg</h3>
      <p class="hint">Streams a video file as if it were live (replace input.mp4 with yours):</p>
      <pre class="command">
        <code>
          <Command text={shown ? ffmpegCommand(rtmpUrl, key) : ffmpegCommand(rtmpUrl, key, { shownKey: masked(key) })} />
        </code>
      </pre>
      <div>
        <CopyButton value={ffmpegCommand(rtmpUrl, key)} what="ffmpeg command" />
      </div>
    </section>
  );
}

/** A command shown so that a narrow screen wraps it between words, never after the dash of an option. */
function Command({ text }: { text: string }) {
  return (
    <>
      {text.split(/( +|\n)/).map((part, i) => (part.trim() && part.length <= 24 ? <span key={i} class="nowrap">{part}</span> : part))}
    </>
  );
}

function Settings({ stream, onChanged, reload }: { stream: LiveStream; onChanged: (stream: LiveStream) => void; reload: () => Promise<void> }) {
  const [title, setTitle] = useState(stream.meta?.title ?? '');
  const [windowText, setWindowText] = useState(String(stream.reconnect_window));
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<{ field: 'window' | 'form'; message: string } | null>(null);
  const [saved, setSaved] = useState(false);

  const [switching, setSwitching] = useState(false);
  const [confirmingDisable, setConfirmingDisable] = useState(false);
  const [switchError, setSwitchError] = useState<string | null>(null);
  const enabled = stream.status !== 'disabled';

  const save = async (event: Event) => {
    event.preventDefault();
    if (saving) return;
    setSaved(false);
    const parsed = parseReconnectWindow(windowText);
    if ('error' in parsed) {
      setSaveError({ field: 'window', message: parsed.error });
      return;
    }
    setSaving(true);
    setSaveError(null);
    try {
      const updated = await updateStream(stream.id, settingsBody(title, parsed.value));
      onChanged(updated);
      setTitle(updated.meta?.title ?? '');
      setWindowText(String(updated.reconnect_window));
      setSaved(true);
    } catch (err) {
      setSaveError({ field: 'form', message: `Could not save: ${messageOf(err)}` });
    } finally {
      setSaving(false);
    }
  };

  const switchTo = async (enable: boolean) => {
    setConfirmingDisable(false);
    setSwitching(true);
    setSwitchError(null);
    try {
      await setStreamEnabled(stream.id, enable);
      await reload();
    } catch (err) {
      setSwitchError(`Could not ${enable ? 'enable' : 'disable'} the stream: ${messageOf(err)}`);
    } finally {
      setSwitching(false);
    }
  };

  return (
    <section class="card stack" aria-labelledby="settings-heading">
      <h2 id="settings-heading">Settings</h2>
      <form class="stack" onSubmit={save} noValidate>
        <div class="field">
          <label for="title">Title</label>
          <input id="title" maxLength={512} value={title} onInput={(e) => (setTitle(e.currentTarget.value), setSaved(false))} placeholder="Untitled stream" />
        </div>
        <div class="field">
          <label for="reconnect-window">Reconnect window (seconds)</label>
          <input
            id="reconnect-window"
            type="number"
            inputMode="numeric"
            min={RECONNECT_WINDOW.min}
            max={RECONNECT_WINDOW.max}
            step={1}
            value={windowText}
            onInput={(e) => (setWindowText(e.currentTarget.value), setSaved(false))}
            aria-describedby={saveError?.field === 'window' ? 'window-hint window-error' : 'window-hint'}
            aria-invalid={saveError?.field === 'window'}
          />
          <p class="hint" id="window-hint">
            How long a broadcast waits for its encoder to come back after a drop before it ends ({RECONNECT_WINDOW.min} to {RECONNECT_WINDOW.max}).
          </p>
          {saveError?.field === 'window' && <ErrorMessage message={saveError.message} id="window-error" />}
        </div>
        <div class="actions">
          <button type="submit" aria-disabled={saving}>
            Save settings
          </button>
          <span class="progress" role="status">
            {saving ? 'Saving…' : saved ? 'Saved.' : ''}
          </span>
        </div>
        {saveError?.field === 'form' && <ErrorMessage message={saveError.message} />}
      </form>

      <div class="stack switch-block">
        <h3>Broadcasting</h3>
        <p class="hint">{enabled ? 'This stream is enabled: an encoder with its key can go live.' : 'This stream is disabled: encoders are refused until it is enabled again.'}</p>
        <div class="actions">
          <button type="button" class={enabled ? 'danger-outline' : ''} aria-disabled={switching} onClick={() => !switching && (enabled ? (stream.status === 'active' ? setConfirmingDisable(true) : void switchTo(false)) : void switchTo(true))}>
            {enabled ? 'Disable stream' : 'Enable stream'}
          </button>
          <span class="progress" role="status">
            {switching ? (enabled ? 'Disabling…' : 'Enabling…') : ''}
          </span>
        </div>
        <ErrorMessage message={switchError} />
      </div>
      <ConfirmDialog open={confirmingDisable} title="Disable this live stream?" confirm="Disable stream" onConfirm={() => void switchTo(false)} onCancel={() => setConfirmingDisable(false)}>
        <p>The stream is live. Disabling it ends the broadcast now and refuses the encoder until the stream is enabled again.</p>
      </ConfirmDialog>
    </section>
  );
}
