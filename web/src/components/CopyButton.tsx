import { useEffect, useState } from 'preact/hooks';

/** Copies text: the Clipboard API where the page may use it (https, localhost), else a selected text area. */
async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return;
    } catch {
      // Refused (no permission, no focus): try the old way.
    }
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  const focused = document.activeElement as HTMLElement | null;
  area.select();
  const copied = document.execCommand('copy');
  area.remove();
  focused?.focus();
  if (!copied) throw new Error('copy refused');
}

/**
 * A `Copy` button. Its accessible name says what it copies (`Copy stream key`); the outcome is
 * announced, and a failure says what to do instead.
 */
export function CopyButton({ value, what }: { value: string; what: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state !== 'copied') return;
    const timer = setTimeout(() => setState('idle'), 2000);
    return () => clearTimeout(timer);
  }, [state]);
  return (
    <span class="copy">
      <button
        type="button"
        class="secondary"
        aria-label={`Copy ${what}`}
        onClick={() =>
          copyText(value).then(
            () => setState('copied'),
            () => setState('failed'),
          )
        }
      >
        {state === 'copied' ? 'Copied' : 'Copy'}
      </button>
      <span class={state === 'failed' ? 'error' : 'visually-hidden'} role="status">
        {state === 'copied' ? `Copied the ${what}.` : state === 'failed' ? `Could not copy the ${what}: select it and copy it by hand.` : ''}
      </span>
    </span>
  );
}
