import { useState } from 'preact/hooks';
import { messageOf } from '../api.js';
import { ErrorMessage } from './ErrorMessage.js';

/**
 * Username and password, a submit button, and the failure in words under the form. `check`
 * finds what is wrong before anything is sent; `submit` throws what the server said.
 */
export function AccountForm({ submitLabel, busyText, newPassword, check, submit }: { submitLabel: string; busyText: string; newPassword?: boolean; check?: (username: string, password: string) => string | null; submit: (username: string, password: string) => Promise<void> }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const onSubmit = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    const problem = !username.trim() ? 'Enter a username.' : !password ? 'Enter a password.' : (check?.(username.trim(), password) ?? null);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await submit(username.trim(), password);
    } catch (err) {
      setError(messageOf(err));
      setBusy(false);
    }
  };

  return (
    <form class="card stack" onSubmit={onSubmit} noValidate>
      <div class="field">
        <label for="username">Username</label>
        <input id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck={false} required maxLength={32} value={username} onInput={(e) => setUsername(e.currentTarget.value)} aria-describedby={newPassword ? 'username-hint' : undefined} />
        {newPassword && (
          <p class="hint" id="username-hint">
            3 to 32 letters, digits, dots, dashes or underscores.
          </p>
        )}
      </div>
      <div class="field">
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete={newPassword ? 'new-password' : 'current-password'} required value={password} onInput={(e) => setPassword(e.currentTarget.value)} aria-describedby={newPassword ? 'password-hint' : undefined} />
        {newPassword && (
          <p class="hint" id="password-hint">
            At least 8 characters.
          </p>
        )}
      </div>
      <div class="actions">
        <button type="submit" aria-disabled={busy}>
          {submitLabel}
        </button>
        <span class="progress" role="status">
          {busy ? busyText : ''}
        </span>
      </div>
      <ErrorMessage message={error} id="account-error" />
    </form>
  );
}
