import { badgeText } from '../state.js';

/** A stream's status in one word: `Live`, `Idle` or `Disabled`. */
export function Badge({ status }: { status: string }) {
  const text = badgeText(status);
  return <span class={`badge badge-${text.toLowerCase()}`}>{text}</span>;
}
