import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** A static file served from memory, with a validator so browsers revalidate cheaply. */
export interface Asset {
  body: Buffer;
  contentType: string;
  etag: string;
}

function asset(body: Buffer, contentType: string): Asset {
  return { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

/** hls.js as the installed package ships it (no CDN): plays HLS where the browser cannot natively. */
export function hlsJsAsset(): Asset {
  const path = createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js');
  return asset(readFileSync(path), 'text/javascript; charset=utf-8');
}

/**
 * The watch page's player: native HLS where the browser has it (Safari, iOS, Android Chrome),
 * hls.js over Media Source Extensions elsewhere.
 */
const PLAYER_SCRIPT = `'use strict';
(function () {
  var video = document.getElementById('player');
  if (!video) return;
  var src = video.getAttribute('data-src');
  if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = src;
  } else if (window.Hls && window.Hls.isSupported()) {
    var hls = new window.Hls({ liveDurationInfinity: true });
    hls.loadSource(src);
    hls.attachMedia(video);
  } else {
    document.getElementById('unsupported').hidden = false;
  }
})();
`;

export function playerAsset(): Asset {
  return asset(Buffer.from(PLAYER_SCRIPT, 'utf8'), 'text/javascript; charset=utf-8');
}
