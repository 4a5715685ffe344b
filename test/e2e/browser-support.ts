/**
 * What the dashboard's browser tests share: where Chromium is (skipping when it is not), the
 * built app (which must be as new as its sources), axe-core's findings on a page, and each
 * screen checked with axe in light and dark and photographed at 1280×800 and 390×844 under
 * test-output/screenshots/.
 */
import assert from 'node:assert/strict';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { ffmpegMissing } from '../media/relay/support.js';

export { encoder } from '../media/relay/support.js';

/** The repository root (this file runs compiled, from dist/test/e2e/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const WEB_DIST = join(ROOT, 'web', 'dist');
export const SCREENSHOTS = join(ROOT, 'test-output', 'screenshots');

export const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
] as const;

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Chromium at CHROMIUM_PATH, else on PATH, else Debian's /usr/bin/chromium. */
function findChromium(): string | undefined {
  const given = process.env.CHROMIUM_PATH;
  if (given) return executable(given) ? given : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of ['chromium', 'chromium-browser']) {
      if (executable(join(dir, name))) return join(dir, name);
    }
  }
  return executable('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined;
}

export const chromiumPath = findChromium();
export const browserSkip: string | false = !chromiumPath
  ? process.env.CHROMIUM_PATH
    ? `CHROMIUM_PATH=${process.env.CHROMIUM_PATH} is not an executable file`
    : "Chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH): the dashboard's browser tests are skipped"
  : ffmpegMissing;

/** The newest modification time of the files under a folder. */
function newest(dir: string): number {
  return Math.max(
    0,
    ...readdirSync(dir, { withFileTypes: true }).map((entry) => {
      const path = join(dir, entry.name);
      return entry.isDirectory() ? newest(path) : statSync(path).mtimeMs;
    }),
  );
}

/** The built app must be there, and built from the sources as they are. */
export function assertAppBuilt(): void {
  const index = join(WEB_DIST, 'index.html');
  assert.ok(existsSync(index), `${index} is missing: build the dashboard first (npm run build:web)`);
  const sources = Math.max(newest(join(ROOT, 'web', 'src')), statSync(join(ROOT, 'web', 'index.html')).mtimeMs);
  assert.ok(statSync(index).mtimeMs >= sources, 'web/dist is older than web/src: rebuild the dashboard (npm run build:web)');
}


export interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

let axeSource: string | undefined;

/** axe-core's findings on the page as it is now. */
export async function axeViolations(page: Page): Promise<Violation[]> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.addScriptTag({ content: axeSource });
  return page.evaluate(async () => {
    const axe = (globalThis as any).axe;
    const results = await axe.run({ resultTypes: ['violations'] });
    return results.violations.map((v: any) => ({ id: v.id, impact: v.impact ?? null, help: v.help, nodes: v.nodes.map((n: any) => n.target.join(' ')) }));
  });
}

/**
 * One screen, checked and photographed: axe at each size, in light and dark; a screenshot at
 * each size (light) and a dark one at 1280×800.
 */
export async function screen(page: Page, name: string, notes: string[]): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const problems: string[] = [];
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const viewport of VIEWPORTS) {
      await page.setViewportSize(viewport);
      // Let the layout settle at the new size before looking.
      await page.evaluate(() => new Promise((resolve) => (globalThis as any).requestAnimationFrame(() => (globalThis as any).requestAnimationFrame(resolve))));
      for (const v of await axeViolations(page)) {
        const line = `${name} (${scheme}, ${viewport.width}px): ${v.impact} ${v.id}: ${v.help} at ${v.nodes.join(', ')}`;
        if (v.impact === 'serious' || v.impact === 'critical') problems.push(line);
        else notes.push(line);
      }
      if (scheme === 'light' || viewport.width === 1280) {
        await page.screenshot({ path: join(SCREENSHOTS, `dashboard-${name}-${viewport.width}x${viewport.height}${scheme === 'dark' ? '-dark' : ''}.png`), fullPage: true });
      }
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize(VIEWPORTS[0]);
  assert.deepEqual(problems, [], `axe found serious or critical problems on ${name}`);
}

