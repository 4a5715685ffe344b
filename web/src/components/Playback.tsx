import { useId, useState } from 'preact/hooks';
import { getStream, messageOf, request } from '../api.js';
import type { LiveStream } from '../state.js';
import { ConfirmDialog } from './ConfirmDialog.js';
import { CopyButton } from './CopyButton.js';
import { ErrorMessage } from './ErrorMessage.js';
import './stream-sections.css';

interface PlaybackId {
  id: string;
  policy: string;
}

/** The `<iframe>` that embeds a playback id's player in another site's page. */
export function embedSnippet(origin: string, playbackId: string, title: string): string {
  const safeTitle = title.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  return `<iframe src="${origin}/embed/${playbackId}" title="${safeTitle}" width="640" height="360" style="border:0;max-width:100%" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>`;
}

/** A stream's playback ids: its HLS and watch page URLs and an embed snippet for each public one; add and remove ids. */
export function Playback({ stream, onChanged }: { stream: LiveStream; onChanged: (stream: LiveStream) => void }) {
  const ids = ((stream.playback_ids as PlaybackId[] | undefined) ?? []).slice();
  const [policy, setPolicy] = useState<'public' | 'signed'>('public');
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [removing, setRemoving] = useState<PlaybackId | null>(null);
  const fieldId = useId();
  const path = `/video/v1/live-streams/${encodeURIComponent(stream.id)}/playback-ids`;

  const add = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    setBusy('Adding a playback id…');
    setError(null);
    try {
      await request('POST', path, { body: { policy } });
      onChanged(await getStream(stream.id));
    } catch (err) {
      setError(`Could not add a playback id: ${messageOf(err)}`);
    } finally {
      setBusy(null);
    }
  };

  const remove = async (target: PlaybackId) => {
    setRemoving(null);
    setBusy('Removing the playback id…');
    setError(null);
    try {
      await request<void>('DELETE', `${path}/${encodeURIComponent(target.id)}`);
      onChanged(await getStream(stream.id));
    } catch (err) {
      setError(`Could not remove the playback id: ${messageOf(err)}`);
    } finally {
      setBusy(null);
    }
  };

  return (
    <section class="card stack" aria-labelledby="playback-heading">
      <h2 id="playback-heading">Playback</h2>
      <p class="hint">Viewers watch with a playback id. A public one plays for anyone with its link; a signed one only with a token signed by one of your signing keys.</p>
      {ids.length === 0 && <p class="empty">No playback ids: nobody can watch this stream. Add one below.</p>}
      {ids.length > 0 && (
        <ul class="item-list" aria-label="Playback ids">
          {ids.map((p) => (
            <PlaybackRow key={p.id} playback={p} title={typeof stream.meta?.title === 'string' && stream.meta.title.trim() ? stream.meta.title.trim() : 'Live stream'} onRemove={() => setRemoving(p)} busy={busy !== null} />
          ))}
        </ul>
      )}
      <form class="actions" onSubmit={add}>
        <div class="field">
          <label for={`${fieldId}-policy`}>New playback id’s policy</label>
          <select id={`${fieldId}-policy`} value={policy} onChange={(e) => setPolicy(e.currentTarget.value === 'signed' ? 'signed' : 'public')}>
            <option value="public">Public</option>
            <option value="signed">Signed</option>
          </select>
        </div>
        <button type="submit" class="secondary align-end" aria-disabled={busy !== null}>
          Add playback id
        </button>
        <span class="progress align-end" role="status">
          {busy ?? ''}
        </span>
      </form>
      <ErrorMessage message={error} />
      <ConfirmDialog open={removing !== null} title="Remove this playback id?" confirm="Remove playback id" onConfirm={() => removing && void remove(removing)} onCancel={() => setRemoving(null)}>
        <p>Players, links and embeds using {removing?.id} stop working at once.</p>
      </ConfirmDialog>
    </section>
  );
}

function PlaybackRow({ playback, title, onRemove, busy }: { playback: PlaybackId; title: string; onRemove: () => void; busy: boolean }) {
  const origin = window.location.origin;
  const base = useId();
  const links = [
    { label: 'HLS URL', what: 'HLS URL', value: `${origin}/${playback.id}.m3u8` },
    { label: 'Watch page', what: 'watch page URL', value: `${origin}/watch/${playback.id}` },
  ];
  return (
    <li class="item-row playback-row" aria-label={`Playback id ${playback.id}`}>
      <div class="item-main">
        <code class="item-title">{playback.id}</code>
        <span class={`policy policy-${playback.policy}`}>{playback.policy === 'signed' ? 'Signed' : 'Public'}</span>
      </div>
      <button type="button" class="danger-outline" aria-label={`Remove playback id ${playback.id}`} aria-disabled={busy} onClick={() => !busy && onRemove()}>
        Remove
      </button>
      {playback.policy === 'public' ? (
        <div class="item-wide stack tight">
          {links.map((link, i) => (
            <div class="field" key={link.label}>
              <label for={`${base}-${i}`}>{link.label}</label>
              <div class="copy-row">
                <input id={`${base}-${i}`} readOnly value={link.value} class="mono" spellcheck={false} />
                <CopyButton value={link.value} what={`${link.what} of ${playback.id}`} />
              </div>
            </div>
          ))}
          <div class="field">
            <label for={`${base}-embed`}>Embed code</label>
            <textarea id={`${base}-embed`} readOnly rows={3} class="mono" spellcheck={false} value={embedSnippet(origin, playback.id, title)} />
            <div>
              <CopyButton value={embedSnippet(origin, playback.id, title)} what={`embed code of ${playback.id}`} />
            </div>
          </div>
        </div>
      ) : (
        <p class="hint item-wide">
          Plays at <code>{`${origin}/${playback.id}.m3u8?token=…`}</code> with a token signed by one of your signing keys.
        </p>
      )}
    </li>
  );
}
