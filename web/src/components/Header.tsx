import { useState } from 'preact/hooks';
import { messageOf, type Account } from '../api.js';
import { useUpdatesInterrupted } from '../events.js';
import { ErrorMessage } from './ErrorMessage.js';
import { Link } from './Link.js';

/** The signed-in bar: the app's name, who is signed in, `Sign out`; and a banner while live updates are down. */
export function Header({ account, onSignOut }: { account: Account; onSignOut: () => Promise<void> }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const interrupted = useUpdatesInterrupted();
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <div class="topbar-inner">
          <Link href="/app/" class="brand">
            streamdelta
          </Link>
          <nav aria-label="Dashboard" class="nav">
            <Link href="/app/">Streams</Link>
            <Link href="/app/webhooks">Webhooks</Link>
            <Link href="/app/access-tokens">Access tokens</Link>
            <Link href="/app/signing-keys">Signing keys</Link>
          </nav>
          <span class="who">
            <span class="who-label">Signed in as </span>
            <strong>{account.username}</strong>
          </span>
          <button
            type="button"
            class="secondary"
            aria-disabled={busy}
            onClick={async () => {
              if (busy) return;
              setBusy(true);
              setError(null);
              try {
                await onSignOut();
              } catch (err) {
                setError(`Could not sign out: ${messageOf(err)}`);
                setBusy(false);
              }
            }}
          >
            Sign out
          </button>
        </div>
        {error && (
          <div class="topbar-inner">
            <ErrorMessage message={error} />
          </div>
        )}
      </header>
      <div class="banner-slot" role="status">
        {interrupted && <p class="banner">Live updates are interrupted. Reconnecting…</p>}
      </div>
    </>
  );
}
