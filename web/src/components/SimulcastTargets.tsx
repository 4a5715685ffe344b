import { useCallback, useEffect, useId, useState } from 'preact/hooks';
import { ApiError, getStream, messageOf, request } from '../api.js';
import { useEvents } from '../events.js';
import { ConfirmDialog } from './ConfirmDialog.js';
import { ErrorMessage } from './ErrorMessage.js';
import './stream-sections.css';

/** A simulcast target as the Mux-compatible API shows it. */
interface Target {
  id: string;
  url: string;
  stream_key?: string;
  passthrough?: string;
  status: string;
}

/** What the dashboard's own API adds: the switch and the relay's last error. */
interface TargetState {
  id: string;
  enabled: boolean;
  state: 'idle' | 'connecting' | 'live' | 'error';
  lastError: string | null;
}

export type TargetStatusText = 'Idle' | 'Starting' | 'Broadcasting' | 'Errored';

/** Mux's target statuses in one word each. */
export function targetStatusText(status: string): TargetStatusText {
  if (status === 'starting') return 'Starting';
  if (status === 'broadcasting') return 'Broadcasting';
  if (status === 'errored') return 'Errored';
  return 'Idle';
}

const RELAY_STATUS: Record<TargetState['state'], string> = { idle: 'idle', connecting: 'starting', live: 'broadcasting', error: 'errored' };

const PRESETS = {
  youtube: { name: 'YouTube', url: 'rtmp://a.rtmp.youtube.com/live2' },
  twitch: { name: 'Twitch', url: 'rtmp://live.twitch.tv/app' },
  custom: { name: 'Custom RTMP', url: '' },
} as const;
type Preset = keyof typeof PRESETS;

/** The service a target goes to, by its URL. */
function serviceOf(url: string): string {
  if (url.startsWith(PRESETS.youtube.url)) return 'YouTube';
  if (url.startsWith(PRESETS.twitch.url)) return 'Twitch';
  return 'Custom RTMP';
}

const TARGET_EVENTS = ['created', 'starting', 'broadcasting', 'errored', 'idle', 'updated', 'deleted'].map((t) => `video.live_stream.simulcast_target.${t}`);

const targetsPath = (streamId: string) => `/video/v1/live-streams/${encodeURIComponent(streamId)}/simulcast-targets`;
const statesPath = (streamId: string) => `/app/api/streams/${encodeURIComponent(streamId)}/targets`;

/** A field's problem in the server's words, told apart by the field it names (`url …`, `stream_key …`). */
function fieldErrors(err: unknown): { url?: string; key?: string; form?: string } {
  if (!(err instanceof ApiError) || err.status !== 400) return { form: `Could not add the target: ${messageOf(err)}` };
  const found: { url?: string; key?: string; form?: string } = {};
  for (const message of err.messages) {
    const url = /^url\s+(.*)$/i.exec(message);
    const key = /^stream_key\s+(.*)$/i.exec(message);
    if (url) found.url = `The URL ${url[1]}`;
    else if (key) found.key = `The stream key ${key[1]}`;
    else found.form = [found.form, message].filter(Boolean).join(' ');
  }
  return found;
}

/** A stream's simulcast targets: where it is pushed on to while live, each with its state and switch. */
export function SimulcastTargets({ streamId }: { streamId: string }) {
  const [targets, setTargets] = useState<Target[] | null>(null);
  const [states, setStates] = useState<Map<string, TargetState>>(new Map());
  const [loadError, setLoadError] = useState<string | null>(null);
  const [adding, setAdding] = useState(false);

  const load = useCallback(async () => {
    try {
      const [stream, answer] = await Promise.all([getStream(streamId), request<{ data: TargetState[] }>('GET', statesPath(streamId))]);
      setTargets((stream.simulcast_targets as Target[] | undefined) ?? []);
      setStates(new Map(answer.data.map((s) => [s.id, s])));
      setLoadError(null);
    } catch (err) {
      setLoadError(`Could not load the simulcast targets: ${messageOf(err)}`);
    }
  }, [streamId]);

  useEffect(() => void load(), [load]);

  useEvents(
    TARGET_EVENTS,
    (type, body) => {
      const data = (body as { data?: Partial<Target> & { live_stream_id?: string } } | undefined)?.data;
      if (!data || data.live_stream_id !== streamId || typeof data.id !== 'string') return;
      const id = data.id;
      if (type.endsWith('.deleted')) {
        setTargets((list) => list && list.filter((t) => t.id !== id));
        return;
      }
      if (typeof data.status === 'string') {
        const status = data.status;
        setTargets((list) => {
          if (!list) return list;
          if (list.some((t) => t.id === id)) return list.map((t) => (t.id === id ? { ...t, status } : t));
          return typeof data.url === 'string' ? [...list, { ...(data as Target) }] : list;
        });
      }
      // The event has the status; the switch and the last error come from the dashboard's API.
      void request<{ data: TargetState[] }>('GET', statesPath(streamId)).then(
        (answer) => setStates(new Map(answer.data.map((s) => [s.id, s]))),
        () => undefined,
      );
    },
    () => void load(),
  );

  return (
    <section class="card stack" aria-labelledby="targets-heading">
      <div class="section-head">
        <h2 id="targets-heading">Simulcast targets</h2>
        {!adding && (
          <button type="button" onClick={() => setAdding(true)}>
            Add target
          </button>
        )}
      </div>
      <p class="hint">While the stream is live, it is pushed on to each target that is on (YouTube, Twitch or any RTMP server).</p>
      {adding && (
        <AddTarget
          streamId={streamId}
          onDone={(added) => {
            setAdding(false);
            if (added) {
              setTargets((list) => (list ? [...list.filter((t) => t.id !== added.id), added] : [added]));
              void load();
            }
          }}
        />
      )}
      <ErrorMessage message={loadError} />
      {targets === null && !loadError && <p role="status">Loading the targets…</p>}
      {targets !== null && targets.length === 0 && <p class="empty">No targets yet.</p>}
      {targets !== null && targets.length > 0 && (
        <ul class="item-list" aria-label="Simulcast targets">
          {targets.map((target) => (
            <TargetRow
              key={target.id}
              streamId={streamId}
              target={target}
              state={states.get(target.id)}
              onState={(state) => setStates((map) => new Map(map).set(state.id, state))}
              onRemoved={() => setTargets((list) => list && list.filter((t) => t.id !== target.id))}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

function AddTarget({ streamId, onDone }: { streamId: string; onDone: (added: Target | null) => void }) {
  const [preset, setPreset] = useState<Preset>('youtube');
  const [url, setUrl] = useState('');
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<{ url?: string; key?: string; form?: string }>({});
  const ids = useId();

  const submit = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    const custom = preset === 'custom';
    const found: { url?: string; key?: string } = {};
    // The server judges the URL (its words show under the field); an empty one is ours to say.
    if (custom && !url.trim()) found.url = 'Enter an rtmp:// or rtmps:// URL, like rtmp://live.example.com/app.';
    if (!custom && !key.trim()) found.key = `Paste the stream key ${PRESETS[preset].name} gave you.`;
    if (found.url || found.key) {
      setErrors(found);
      return;
    }
    setBusy(true);
    setErrors({});
    try {
      const body = { url: custom ? url.trim() : PRESETS[preset].url, ...(key.trim() ? { stream_key: key.trim() } : {}) };
      const added = (await request<{ data: Target }>('POST', targetsPath(streamId), { body })).data;
      onDone(added);
    } catch (err) {
      setErrors(fieldErrors(err));
      setBusy(false);
    }
  };

  const urlError = errors.url && preset === 'custom' ? errors.url : undefined;
  // A preset's URL is fixed: its problem (unlikely) shows with the form's.
  const formError = [errors.form, preset !== 'custom' ? errors.url : undefined].filter(Boolean).join(' ');

  return (
    <form class="stack subcard" onSubmit={submit} noValidate aria-label="Add a simulcast target">
      <fieldset class="presets">
        <legend>Service</legend>
        {(Object.keys(PRESETS) as Preset[]).map((p) => (
          <label key={p} class="choice">
            <input type="radio" name={`${ids}-preset`} value={p} checked={preset === p} onChange={() => (setPreset(p), setErrors({}))} />
            {PRESETS[p].name}
          </label>
        ))}
      </fieldset>
      {preset === 'custom' ? (
        <div class="field">
          <label for={`${ids}-url`}>Target URL</label>
          <input
            id={`${ids}-url`}
            class="mono"
            inputMode="url"
            spellcheck={false}
            autocapitalize="none"
            placeholder="rtmp://live.example.com/app"
            value={url}
            onInput={(e) => setUrl(e.currentTarget.value)}
            aria-invalid={urlError ? true : undefined}
            aria-describedby={urlError ? `${ids}-url-error` : undefined}
          />
          {urlError && <ErrorMessage message={urlError} id={`${ids}-url-error`} />}
        </div>
      ) : (
        <p class="hint">
          Pushes to <code>{PRESETS[preset].url}</code>: only the stream key is needed (in {preset === 'youtube' ? 'YouTube Studio → Go live → Stream' : 'Twitch → Creator Dashboard → Settings → Stream'}).
        </p>
      )}
      <div class="field">
        <label for={`${ids}-key`}>{preset === 'custom' ? 'Target stream key (optional)' : `${PRESETS[preset].name} stream key`}</label>
        <input
          id={`${ids}-key`}
          type="password"
          class="mono"
          autocomplete="off"
          spellcheck={false}
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          aria-invalid={errors.key ? true : undefined}
          aria-describedby={errors.key ? `${ids}-key-error` : undefined}
        />
        {errors.key && <ErrorMessage message={errors.key} id={`${ids}-key-error`} />}
      </div>
      <div class="actions">
        <button type="submit" aria-disabled={busy}>
          Save target
        </button>
        <button type="button" class="secondary" onClick={() => onDone(null)}>
          Cancel
        </button>
        <span class="progress" role="status">
          {busy ? 'Adding the target…' : ''}
        </span>
      </div>
      <ErrorMessage message={formError || null} />
    </form>
  );
}

function TargetRow({ streamId, target, state, onState, onRemoved }: { streamId: string; target: Target; state: TargetState | undefined; onState: (state: TargetState) => void; onRemoved: () => void }) {
  const [switching, setSwitching] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [removing, setRemoving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const service = serviceOf(target.url);
  const where = service === 'Custom RTMP' ? target.url : service;
  const text = targetStatusText(target.status ?? (state ? RELAY_STATUS[state.state] : 'idle'));
  const enabled = state?.enabled ?? true;
  const label = `${where}${target.stream_key ? ` (key …${target.stream_key.slice(-4)})` : ''}`;

  const toggle = async () => {
    if (switching || !state) return;
    setSwitching(true);
    setError(null);
    try {
      onState((await request<{ data: TargetState }>('PUT', `${statesPath(streamId)}/${encodeURIComponent(target.id)}`, { body: { enabled: !enabled } })).data);
    } catch (err) {
      setError(`Could not switch the target ${enabled ? 'off' : 'on'}: ${messageOf(err)}`);
    } finally {
      setSwitching(false);
    }
  };

  const remove = async () => {
    setConfirming(false);
    setRemoving(true);
    setError(null);
    try {
      await request<void>('DELETE', `${targetsPath(streamId)}/${encodeURIComponent(target.id)}`);
      onRemoved();
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) onRemoved();
      else setError(`Could not delete the target: ${messageOf(err)}`);
      setRemoving(false);
    }
  };

  return (
    <li class="item-row target-row" aria-label={`Target ${label}`}>
      <div class="item-main">
        <strong class="item-title">{service}</strong>
        {service === 'Custom RTMP' && <code class="item-detail">{target.url}</code>}
        {target.stream_key && <span class="hint">Key ending in …{target.stream_key.slice(-4)}</span>}
      </div>
      <span class={`target-status target-${text.toLowerCase()}`} aria-label={`Status of ${label}`} role="status">
        {text}
      </span>
      <label class="switch">
        <input type="checkbox" role="switch" aria-label={`Push to ${label}`} checked={enabled} disabled={!state} aria-disabled={switching} onChange={(e) => ((e.currentTarget.checked = enabled), void toggle())} />
        <span aria-hidden="true">{switching ? '…' : enabled ? 'On' : 'Off'}</span>
      </label>
      <button type="button" class="danger-outline" aria-label={`Delete target ${label}`} aria-disabled={removing} onClick={() => !removing && setConfirming(true)}>
        Delete
      </button>
      {text === 'Errored' && <p class="error item-wide">{state?.lastError ? `Last error: ${state.lastError}` : 'The relay failed; it is tried again while the stream is live.'}</p>}
      {!enabled && <p class="hint item-wide">Off: nothing is pushed here until it is switched on.</p>}
      {error && (
        <div class="item-wide">
          <ErrorMessage message={error} />
        </div>
      )}
      <ConfirmDialog open={confirming} title="Delete this target?" confirm="Delete target" onConfirm={() => void remove()} onCancel={() => setConfirming(false)}>
        <p>The stream stops being pushed to {where} at once, and the target's key is forgotten.</p>
      </ConfirmDialog>
    </li>
  );
}
