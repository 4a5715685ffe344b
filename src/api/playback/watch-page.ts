import { escapeHtml } from './html.js';

export type WatchState = 'live' | 'recorded' | 'waiting';

export interface WatchPage {
  title: string | null;
  description: string | null;
  state: WatchState;
  /** The playlist the player loads; none while the stream has never been on air. */
  playlistUrl: string | null;
  /** Where the page's scripts are served (`<base>/assets`). */
  assetsUrl: string;
}

const STATE_LABEL: Record<WatchState, string> = {
  live: 'Live',
  recorded: 'Recorded',
  waiting: 'Not on air yet',
};

const STYLE = `
body { margin: 0; font-family: system-ui, sans-serif; background: #111; color: #eee; }
main { max-width: 960px; margin: 0 auto; padding: 16px; }
video { width: 100%; background: #000; aspect-ratio: 16 / 9; }
h1 { font-size: 1.4em; margin: 12px 0 4px; }
.state { display: inline-block; padding: 2px 8px; border-radius: 4px; font-size: 0.8em; text-transform: uppercase; background: #444; }
.state.live { background: #c00; }
.description { white-space: pre-wrap; color: #ccc; }
.notice { color: #f99; }
`;

function document(title: string, body: string, head = ''): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
${head}</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/**
 * The watch page of a stream. Everything the broadcaster chose (title, description) is escaped,
 * and the page runs no inline script: the player reads its playlist from a data attribute, so
 * the Content-Security-Policy the route sends can forbid inline scripts altogether.
 */
export function renderWatchPage(page: WatchPage): string {
  const title = page.title !== null && page.title.trim() !== '' ? page.title : 'Untitled stream';
  const player =
    page.playlistUrl === null
      ? '<p class="notice">This stream has not been on air yet.</p>'
      : `<video id="player" controls autoplay muted playsinline data-src="${escapeHtml(page.playlistUrl)}"></video>
<p class="notice" id="unsupported" hidden>This browser cannot play HLS video.</p>`;
  const scripts =
    page.playlistUrl === null
      ? ''
      : `<script src="${escapeHtml(page.assetsUrl)}/hls.min.js" defer></script>
<script src="${escapeHtml(page.assetsUrl)}/watch.js" defer></script>
`;
  return document(
    title,
    `${player}
<h1>${escapeHtml(title)}</h1>
<p><span class="state ${page.state}">${STATE_LABEL[page.state]}</span></p>
${page.description ? `<p class="description">${escapeHtml(page.description)}</p>` : ''}`,
    scripts,
  );
}

export function renderNotFoundPage(): string {
  return document('Stream not found', '<h1>Stream not found</h1>\n<p>There is no public stream at this address.</p>');
}
