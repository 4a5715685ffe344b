import { CopyButton } from './CopyButton.js';

/** A secret the server shows once: the value, a copy button, and a warning that it will not be shown again. */
export function SecretOnce({ label, value, id }: { label: string; value: string; id: string }) {
  return (
    <div class="card secret-once" role="region" aria-label={`New ${label.toLowerCase()}`}>
      <p class="notice">
        <strong>Copy it now:</strong> this {label.toLowerCase()} is shown only this once. Keep it somewhere safe.
      </p>
      <div class="field">
        <label for={id}>{label}</label>
        <div class="copy-row">
          {label.toLowerCase().includes('key') && value.length > 200 ? (
            <textarea id={id} readOnly rows={6} value={value} />
          ) : (
            <input id={id} readOnly value={value} />
          )}
          <CopyButton value={value} what={label.toLowerCase()} />
        </div>
      </div>
    </div>
  );
}
