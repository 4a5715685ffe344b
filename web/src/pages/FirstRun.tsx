import { createAdmin, ApiError } from '../api.js';
import { AccountForm } from '../components/AccountForm.js';
import { useHeading } from '../focus.js';
import { accountProblem } from '../state.js';

/** The first visit to a server with no account: its admin is made here. */
export function FirstRun({ onDone, onTaken }: { onDone: () => Promise<void>; onTaken: () => void }) {
  const heading = useHeading('Create the admin account');
  return (
    <main id="main" class="narrow">
      <p class="app-name">streamdelta</p>
      <h1 ref={heading} tabIndex={-1}>
        Create the admin account
      </h1>
      <p class="lead">This server has no account yet. The first one is its admin: it can see and manage every stream here.</p>
      <AccountForm
        submitLabel="Create account"
        busyText="Creating the account…"
        newPassword
        check={accountProblem}
        submit={async (username, password) => {
          try {
            await createAdmin(username, password);
          } catch (err) {
            // Someone made the first account meanwhile: signing in is what is left.
            if (err instanceof ApiError && err.status === 409) onTaken();
            throw err;
          }
          await onDone();
        }}
      />
    </main>
  );
}
