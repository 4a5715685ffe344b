/**
 * The dashboard: first run (no account yet), sign in, then the streams and each stream's page.
 * The session is a cookie the server sets; the app only asks whether there is one.
 */
import { render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { currentSession, messageOf, needsAdmin, signOut, whenSessionLost, type Session } from './api.js';
import { Header } from './components/Header.js';
import { ErrorMessage } from './components/ErrorMessage.js';
import { Link } from './components/Link.js';
import { stopLiveUpdates } from './events.js';
import { useHeading } from './focus.js';
import { FirstRun } from './pages/FirstRun.js';
import { SignIn } from './pages/SignIn.js';
import { StreamPage } from './pages/StreamPage.js';
import { Streams } from './pages/Streams.js';
import { AccessTokens } from './pages/AccessTokens.js';
import { SigningKeys } from './pages/SigningKeys.js';
import { Webhooks } from './pages/Webhooks.js';
import { Watch, watchRouteOf } from './pages/Watch.js';
import { useRoute } from './router.js';
import './styles.css';

type AppState = { phase: 'loading' } | { phase: 'failed'; message: string } | { phase: 'first-run' } | { phase: 'sign-in'; notice?: string } | { phase: 'ready'; session: Session };

function App() {
  const [state, setState] = useState<AppState>({ phase: 'loading' });

  /** Asks the server who is here: signed in, or (not) a first run. */
  const start = useCallback(async (notice?: string) => {
    try {
      const session = await currentSession();
      if (session) {
        setState({ phase: 'ready', session });
        return;
      }
      setState((await needsAdmin()) ? { phase: 'first-run' } : { phase: 'sign-in', ...(notice ? { notice } : {}) });
    } catch (err) {
      setState({ phase: 'failed', message: `The dashboard could not reach the server: ${messageOf(err)}` });
    }
  }, []);

  useEffect(() => {
    void start();
    whenSessionLost(() => {
      stopLiveUpdates();
      setState((current) => (current.phase === 'ready' ? { phase: 'sign-in', notice: 'Your session ended. Sign in again.' } : current));
    });
    return () => whenSessionLost(undefined);
  }, [start]);

  /** After creating the account or signing in: the session has what the pages need (the RTMP URL). */
  const signedIn = async () => {
    const session = await currentSession();
    if (!session) throw new Error('Signed in, but the server does not know the session. Are cookies blocked for this site?');
    setState({ phase: 'ready', session });
  };

  switch (state.phase) {
    case 'loading':
      return (
        <main id="main" class="narrow">
          <p role="status">Loading…</p>
        </main>
      );
    case 'failed':
      return (
        <main id="main" class="narrow">
          <h1>streamdelta</h1>
          <ErrorMessage message={state.message} />
          <button type="button" onClick={() => (setState({ phase: 'loading' }), void start())}>
            Try again
          </button>
        </main>
      );
    case 'first-run':
      return <FirstRun onDone={signedIn} onTaken={() => setState({ phase: 'sign-in', notice: 'An admin account exists already. Sign in.' })} />;
    case 'sign-in':
      return <SignIn notice={state.notice} onDone={signedIn} />;
    case 'ready':
      return (
        <SignedIn
          session={state.session}
          onSignOut={async () => {
            await signOut();
            stopLiveUpdates();
            setState({ phase: 'sign-in', notice: 'You are signed out.' });
          }}
        />
      );
  }
}

function SignedIn({ session, onSignOut }: { session: Session; onSignOut: () => Promise<void> }) {
  const route = useRoute();
  return (
    <>
      <Header account={session.account} onSignOut={onSignOut} />
      {route.name === 'streams' && <Streams />}
      {route.name === 'stream' && <StreamPage key={route.id} id={route.id} rtmpUrl={session.rtmpUrl} />}
      {route.name === 'webhooks' && <Webhooks />}
      {route.name === 'access-tokens' && <AccessTokens />}
      {route.name === 'signing-keys' && <SigningKeys />}
      {route.name === 'not-found' && <NotFound />}
    </>
  );
}

function NotFound() {
  const heading = useHeading('Page not found');
  return (
    <main id="main" class="page">
      <h1 ref={heading} tabIndex={-1}>
        Page not found
      </h1>
      <p>
        There is nothing at this address. <Link href="/app/">See all streams</Link>.
      </p>
    </main>
  );
}

const watching = watchRouteOf(location.pathname);
render(watching ? <Watch {...watching} /> : <App />, document.getElementById('app')!);
