import type { ComponentChildren } from 'preact';
import { navigate } from '../router.js';

/** A link that moves within the app without reloading it (a modified click still opens a new tab). */
export function Link({ href, children, class: className }: { href: string; children: ComponentChildren; class?: string }) {
  return (
    <a
      href={href}
      class={className}
      onClick={(event) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}
