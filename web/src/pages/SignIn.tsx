import { signIn } from '../api.js';
import { AccountForm } from '../components/AccountForm.js';
import { useHeading } from '../focus.js';

export function SignIn({ notice, onDone }: { notice?: string | undefined; onDone: () => Promise<void> }) {
  const heading = useHeading('Sign in');
  return (
    <main id="main" class="narrow">
      <p class="app-name">streamdelta</p>
      <h1 ref={heading} tabIndex={-1}>
        Sign in
      </h1>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <AccountForm
        submitLabel="Sign in"
        busyText="Signing in…"
        submit={async (username, password) => {
          await signIn(username, password);
          await onDone();
        }}
      />
    </main>
  );
}
