import { useCallback, useEffect, useState } from 'preact/hooks';
import { createToken, listTokens, messageOf, revokeToken, type AccessToken } from '../api.js';
import { ConfirmDialog } from '../components/ConfirmDialog.js';
import { CopyButton } from '../components/CopyButton.js';
import { ErrorMessage } from '../components/ErrorMessage.js';
import { SecretOnce } from '../components/SecretOnce.js';
import { useHeading } from '../focus.js';

/** Access tokens for the API (and the Mux SDKs): made here, the secret shown once; listed; revoked. */
export function AccessTokens() {
  const heading = useHeading('Access tokens');
  const [tokens, setTokens] = useState<AccessToken[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [made, setMade] = useState<AccessToken | null>(null);
  const [name, setName] = useState('');
  const [readOnly, setReadOnly] = useState(false);
  const [busy, setBusy] = useState(false);
  const [revoking, setRevoking] = useState<AccessToken | null>(null);

  const load = useCallback(async () => {
    try {
      setTokens(await listTokens());
    } catch (err) {
      setError(`Could not load the access tokens: ${messageOf(err)}`);
    }
  }, []);
  useEffect(() => void load(), [load]);

  return (
    <main id="main" class="page">
      <div class="page-head">
        <h1 ref={heading} tabIndex={-1}>
          Access tokens
        </h1>
      </div>
      <p class="lead">
        An access token lets a program use the API: the token id is the user name and the secret the password (HTTP Basic), as the Mux SDKs take them in{' '}
        <code>MUX_TOKEN_ID</code> and <code>MUX_TOKEN_SECRET</code>.
      </p>
      <form
        class="card new-stream"
        onSubmit={async (event) => {
          event.preventDefault();
          if (busy) return;
          setBusy(true);
          setError(null);
          try {
            const token = await createToken(name, readOnly);
            setMade(token);
            setName('');
            await load();
          } catch (err) {
            setError(`Could not make the token: ${messageOf(err)}`);
          } finally {
            setBusy(false);
          }
        }}
      >
        <div class="field grow">
          <label for="token-name">Name (optional)</label>
          <input id="token-name" maxLength={255} value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="CI deploys" />
        </div>
        <label class="check">
          <input type="checkbox" checked={readOnly} onChange={(e) => setReadOnly(e.currentTarget.checked)} /> Read-only
        </label>
        <div class="actions">
          <button type="submit" aria-disabled={busy}>
            Create token
          </button>
          <span class="progress" role="status">
            {busy ? 'Making the token…' : ''}
          </span>
        </div>
        <ErrorMessage message={error} />
      </form>
      {made?.secret && (
        <>
          <div class="field">
            <label for="token-id">Token id</label>
            <div class="copy-row">
              <input id="token-id" readOnly value={made.id} />
              <CopyButton value={made.id} what="token id" />
            </div>
          </div>
          <SecretOnce label="Token secret" value={made.secret} id="token-secret" />
        </>
      )}
      <section aria-labelledby="tokens-heading" class="stack">
        <h2 id="tokens-heading">Your tokens</h2>
        {tokens === null && !error && <p role="status">Loading…</p>}
        {tokens?.length === 0 && <p class="empty">No access tokens yet.</p>}
        {tokens && tokens.length > 0 && (
          <ul class="stream-list">
            {tokens.map((token) => (
              <li key={token.id} class="stream-row">
                <span class="stream-link">{token.name ?? 'Unnamed token'}</span>
                <code>{token.id}</code>
                <span class="badge">{token.permission === 'read' ? 'Read-only' : 'Full access'}</span>
                <button type="button" class="secondary" aria-label={`Revoke token ${token.name ?? token.id}`} onClick={() => setRevoking(token)}>
                  Revoke
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
      <ConfirmDialog
        open={revoking !== null}
        title="Revoke this token?"
        confirm="Revoke"
        onConfirm={async () => {
          const token = revoking;
          setRevoking(null);
          if (!token) return;
          try {
            await revokeToken(token.id);
            await load();
          } catch (err) {
            setError(`Could not revoke the token: ${messageOf(err)}`);
          }
        }}
        onCancel={() => setRevoking(null)}
      >
        <p>Programs using {revoking?.name ?? revoking?.id} will get 401 from now on.</p>
      </ConfirmDialog>
    </main>
  );
}
