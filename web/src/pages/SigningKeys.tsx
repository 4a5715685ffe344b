import { useCallback, useEffect, useState } from 'preact/hooks';
import { createSigningKey, deleteSigningKey, listSigningKeys, messageOf, type SigningKey } from '../api.js';
import { ConfirmDialog } from '../components/ConfirmDialog.js';
import { ErrorMessage } from '../components/ErrorMessage.js';
import { SecretOnce } from '../components/SecretOnce.js';
import { useHeading } from '../focus.js';

function when(createdAt: string): string {
  const seconds = Number(createdAt);
  return Number.isFinite(seconds) ? new Date(seconds * 1000).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : createdAt;
}

/** URL signing keys for signed playback: made here (the private key shown once), listed, deleted. */
export function SigningKeys() {
  const heading = useHeading('Signing keys');
  const [keys, setKeys] = useState<SigningKey[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [made, setMade] = useState<SigningKey | null>(null);
  const [busy, setBusy] = useState(false);
  const [deleting, setDeleting] = useState<SigningKey | null>(null);

  const load = useCallback(async () => {
    try {
      setKeys(await listSigningKeys());
    } catch (err) {
      setError(`Could not load the signing keys: ${messageOf(err)}`);
    }
  }, []);
  useEffect(() => void load(), [load]);

  return (
    <main id="main" class="page">
      <div class="page-head">
        <h1 ref={heading} tabIndex={-1}>
          Signing keys
        </h1>
      </div>
      <p class="lead">
        A signing key signs playback tokens for <code>signed</code> playback ids (<code>mux.jwt.signPlaybackId</code>): the server keeps only its public half.
      </p>
      <div class="card">
        <div class="actions">
          <button
            type="button"
            aria-disabled={busy}
            onClick={async () => {
              if (busy) return;
              setBusy(true);
              setError(null);
              try {
                setMade(await createSigningKey());
                await load();
              } catch (err) {
                setError(`Could not make the key: ${messageOf(err)}`);
              } finally {
                setBusy(false);
              }
            }}
          >
            Create signing key
          </button>
          <span class="progress" role="status">
            {busy ? 'Making the key…' : ''}
          </span>
        </div>
        <ErrorMessage message={error} />
      </div>
      {made?.private_key && (
        <>
          <p>
            Key id: <code>{made.id}</code>
          </p>
          <SecretOnce label="Private key" value={made.private_key} id="private-key" />
        </>
      )}
      <section aria-labelledby="keys-heading" class="stack">
        <h2 id="keys-heading">Your keys</h2>
        {keys === null && !error && <p role="status">Loading…</p>}
        {keys?.length === 0 && <p class="empty">No signing keys yet.</p>}
        {keys && keys.length > 0 && (
          <ul class="stream-list">
            {keys.map((key) => (
              <li key={key.id} class="stream-row">
                <code class="stream-link">{key.id}</code>
                <span class="stream-created">{when(key.created_at)}</span>
                <button type="button" class="secondary" aria-label={`Delete signing key ${key.id}`} onClick={() => setDeleting(key)}>
                  Delete
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
      <ConfirmDialog
        open={deleting !== null}
        title="Delete this signing key?"
        confirm="Delete"
        onConfirm={async () => {
          const key = deleting;
          setDeleting(null);
          if (!key) return;
          try {
            await deleteSigningKey(key.id);
            await load();
          } catch (err) {
            setError(`Could not delete the key: ${messageOf(err)}`);
          }
        }}
        onCancel={() => setDeleting(null)}
      >
        <p>Playback tokens signed with {deleting?.id} stop working at once.</p>
      </ConfirmDialog>
    </main>
  );
}
