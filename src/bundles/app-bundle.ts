import { isDict, parsePlist, type PlistDict, type PlistValue } from './plist.js';
import { pngInfo } from './png.js';
import type { ZipArchive, ZipEntry } from './zip.js';

/**
 * An iOS `.app` bundle inside a zip, as a simulator build or `Payload/` of an IPA holds it:
 * what Info.plist says about it, its icon and its launch images. Only Info.plist and the image
 * candidates are ever inflated. Problems with the bundle itself end in a BundleError; a
 * damaged archive or plist surfaces as the ZipError or PlistError that found it.
 */
export class BundleError extends Error {
  override readonly name = 'BundleError';
}

export type DeviceFamily = 'iPhone' | 'iPad';

export interface BundleImage {
  /** Where the image is in the archive. */
  path: string;
  data: Buffer;
  width: number;
  height: number;
}

export interface AppBundle {
  /** The `.app` folder in the archive, e.g. `Payload/Demo.app`. */
  path: string;
  /** CFBundleIdentifier, e.g. `com.example.demo`. */
  identifier: string;
  /** CFBundleShortVersionString, else CFBundleVersion. */
  versionString: string | null;
  /** CFBundleDisplayName, else CFBundleName, else the folder's name. */
  displayName: string;
  /** UIDeviceFamily: 1 iPhone (and iPod touch), 2 iPad; iPhone when absent, as iOS assumes. */
  deviceFamilies: DeviceFamily[];
  /** The app starts in a landscape orientation. */
  landscape: boolean;
  icon: BundleImage | null;
  defaultImage: BundleImage | null;
  defaultImageLandscape: BundleImage | null;
}

export interface BundleLimits {
  /** Bytes Info.plist may inflate to. */
  plistBytes: number;
  /** Bytes one image may inflate to. */
  imageBytes: number;
  /** Images inflated per kind (icon, portrait, landscape) while looking for the best one. */
  imageCandidates: number;
}

export const DEFAULT_BUNDLE_LIMITS: BundleLimits = {
  plistBytes: 1024 * 1024,
  imageBytes: 16 * 1024 * 1024,
  imageCandidates: 32,
};

/** Longest identifier, version or name taken from Info.plist. */
const MAX_TEXT = 255;

function isAppFolder(name: string | undefined): boolean {
  return name !== undefined && /\.app$/i.test(name);
}

/** The outermost `.app` folder that holds an Info.plist; a second one at the same level is refused as ambiguous. */
function findAppRoot(archive: ZipArchive): string {
  const roots: string[] = [];
  for (const entry of archive.entries) {
    if (entry.isDirectory) continue;
    const parts = entry.name.split('/');
    if (parts[0] === '__MACOSX') continue;
    if (parts.length >= 2 && parts[parts.length - 1] === 'Info.plist' && isAppFolder(parts[parts.length - 2])) {
      roots.push(parts.slice(0, -1).join('/'));
    }
  }
  const outermost = roots.filter((root) => !roots.some((other) => root.startsWith(`${other}/`))).sort();
  if (outermost.length === 0) {
    const mac = archive.entries.some((e) => /\.app\/Contents\/Info\.plist$/i.test(e.name));
    throw new BundleError(mac ? 'the zip holds a macOS app, not an iOS .app bundle' : 'the zip holds no .app bundle (no <Name>.app/Info.plist)');
  }
  if (outermost.length > 1) throw new BundleError(`the zip holds more than one .app bundle (${outermost.slice(0, 3).join(', ')})`);
  return outermost[0]!;
}

function text(value: PlistValue | undefined, key: string): string | undefined {
  if (value === undefined) return undefined;
  const s = typeof value === 'string' ? value.trim() : typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
  if (s === undefined) throw new BundleError(`Info.plist ${key} is not a string`);
  if (s.length > MAX_TEXT) throw new BundleError(`Info.plist ${key} is longer than ${MAX_TEXT} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(s)) throw new BundleError(`Info.plist ${key} contains control characters`);
  return s === '' ? undefined : s;
}

function strings(value: PlistValue | undefined): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

function deviceFamilies(value: PlistValue | undefined): DeviceFamily[] {
  const codes = (Array.isArray(value) ? value : value === undefined ? [] : [value]).map((v) => (typeof v === 'string' ? Number(v) : v));
  const families: DeviceFamily[] = [];
  if (codes.includes(1)) families.push('iPhone');
  if (codes.includes(2)) families.push('iPad');
  return families.length > 0 ? families : ['iPhone'];
}

function startsLandscape(plist: PlistDict, families: DeviceFamily[]): boolean {
  const padOnly = families.length === 1 && families[0] === 'iPad';
  const initial =
    strings(plist.get('UIInterfaceOrientation'))[0] ??
    (padOnly ? strings(plist.get('UISupportedInterfaceOrientations~ipad'))[0] : undefined) ??
    strings(plist.get('UISupportedInterfaceOrientations'))[0];
  return initial !== undefined && initial.startsWith('UIInterfaceOrientationLandscape');
}

/** The file names iOS tries for an image named `base`: scale and device suffixes, `.png` implied. */
function expandImageName(base: string): string[] {
  const stem = base.replace(/\.png$/i, '');
  const names = /\.png$/i.test(base) ? [base] : [];
  for (const suffix of ['', '@2x', '@3x', '~iphone', '@2x~iphone', '@3x~iphone', '~ipad', '@2x~ipad']) names.push(`${stem}${suffix}.png`);
  return names;
}

/** Looks up files of the app by path relative to its folder, ignoring case as the simulator's file system does. */
class AppFiles {
  private readonly byPath = new Map<string, ZipEntry>();
  /** Files directly in the app folder, by lower-cased name. */
  readonly topLevel: string[] = [];

  constructor(archive: ZipArchive, readonly root: string) {
    for (const entry of archive.entries) {
      if (entry.isDirectory || entry.isSymlink || !entry.name.startsWith(`${root}/`)) continue;
      const relative = entry.name.slice(root.length + 1).toLowerCase();
      if (!this.byPath.has(relative)) this.byPath.set(relative, entry);
      if (!relative.includes('/')) this.topLevel.push(relative);
    }
  }

  find(relative: string): ZipEntry | undefined {
    return this.byPath.get(relative.replace(/^\/+/, '').toLowerCase());
  }
}

export async function readAppBundle(archive: ZipArchive, limits: BundleLimits = DEFAULT_BUNDLE_LIMITS): Promise<AppBundle> {
  const root = findAppRoot(archive);
  const files = new AppFiles(archive, root);
  const infoEntry = archive.get(`${root}/Info.plist`)!;
  if (infoEntry.isSymlink) throw new BundleError('Info.plist is a symbolic link');
  const plist = parsePlist(await archive.read(infoEntry, limits.plistBytes));
  if (!isDict(plist)) throw new BundleError('Info.plist is not a dictionary');

  const identifier = text(plist.get('CFBundleIdentifier'), 'CFBundleIdentifier');
  if (identifier === undefined) throw new BundleError('Info.plist has no CFBundleIdentifier');
  const versionString = text(plist.get('CFBundleShortVersionString'), 'CFBundleShortVersionString') ?? text(plist.get('CFBundleVersion'), 'CFBundleVersion') ?? null;
  const folderName = root.split('/').pop()!.replace(/\.app$/i, '');
  const displayName = text(plist.get('CFBundleDisplayName'), 'CFBundleDisplayName') ?? text(plist.get('CFBundleName'), 'CFBundleName') ?? folderName;
  const families = deviceFamilies(plist.get('UIDeviceFamily'));
  const primary = families[0]!;

  /** The largest displayable PNG among the names, preferring those made for the app's primary device. */
  const best = async (names: string[]): Promise<BundleImage | null> => {
    const seen = new Set<ZipEntry>();
    let chosen: { image: BundleImage; rank: [number, number] } | undefined;
    for (const name of names) {
      const entry = files.find(name);
      if (!entry || seen.has(entry)) continue;
      seen.add(entry);
      if (seen.size > limits.imageCandidates) break;
      if (entry.uncompressedSize > limits.imageBytes) continue;
      const data = await archive.read(entry, limits.imageBytes);
      const info = pngInfo(data);
      if (!info || info.appleOptimized) continue;
      const lower = entry.name.toLowerCase();
      const forDevice = primary === 'iPhone' ? !lower.includes('~ipad') : !lower.includes('~iphone');
      const rank: [number, number] = [forDevice ? 1 : 0, info.width * info.height];
      if (!chosen || rank[0] > chosen.rank[0] || (rank[0] === chosen.rank[0] && rank[1] > chosen.rank[1])) {
        chosen = { image: { path: entry.name, data, width: info.width, height: info.height }, rank };
      }
    }
    return chosen?.image ?? null;
  };

  // Icons: CFBundleIcons (iOS 5+), CFBundleIconFiles (iOS 3.2+), CFBundleIconFile, else Icon*.png / AppIcon*.png.
  const iconNames: string[] = [];
  for (const key of ['CFBundleIcons', 'CFBundleIcons~ipad']) {
    const icons = plist.get(key);
    const primaryIcon = isDict(icons) ? icons.get('CFBundlePrimaryIcon') : undefined;
    if (isDict(primaryIcon)) iconNames.push(...strings(primaryIcon.get('CFBundleIconFiles')).flatMap(expandImageName));
  }
  iconNames.push(...strings(plist.get('CFBundleIconFiles')).flatMap(expandImageName));
  iconNames.push(...strings(plist.get('CFBundleIconFile')).flatMap(expandImageName));
  const icon = (await best(iconNames)) ?? (await best(files.topLevel.filter((n) => /^(app)?icon[^/]*\.png$/.test(n))));

  // Launch images: UILaunchImages (iOS 7+) by orientation, then files named after UILaunchImageFile or Default.
  const portrait: string[] = [];
  const landscape: string[] = [];
  for (const key of ['UILaunchImages', 'UILaunchImages~ipad', 'UILaunchImages~iphone']) {
    const images = plist.get(key);
    if (!Array.isArray(images)) continue;
    for (const image of images) {
      if (!isDict(image)) continue;
      const name = strings(image.get('UILaunchImageName'))[0];
      if (name === undefined) continue;
      const orientation = strings(image.get('UILaunchImageOrientation'))[0] ?? 'Portrait';
      (orientation === 'Landscape' ? landscape : portrait).push(...expandImageName(name));
    }
  }
  const bases = [
    ...strings(plist.get('UILaunchImageFile')),
    ...strings(plist.get('UILaunchImageFile~ipad')),
    ...strings(plist.get('UILaunchImageFile~iphone')),
    'Default',
  ].map((b) => b.replace(/\.png$/i, '').toLowerCase());
  for (const name of files.topLevel) {
    if (!name.endsWith('.png')) continue;
    const stem = name.slice(0, -4);
    if (!bases.some((b) => stem === b || (stem.startsWith(b) && /^[-@~]/.test(stem.slice(b.length))))) continue;
    (stem.includes('landscape') ? landscape : portrait).push(name);
  }

  return {
    path: root,
    identifier,
    versionString,
    displayName,
    deviceFamilies: families,
    landscape: startsLandscape(plist, families),
    icon,
    defaultImage: await best(portrait),
    defaultImageLandscape: await best(landscape),
  };
}
