import { chmodSync, mkdirSync, statSync } from 'node:fs';

/**
 * The server's files are its own: the data directory and every folder in it are readable by the
 * server's user alone, and every file it writes (blobs, temporary downloads) too. The database
 * files follow the same modes (store/database.ts, which may not import this).
 */
export const PRIVATE_DIRECTORY_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Makes `path` (and any missing parent) a private directory; an existing one that group or
 * others may enter (made by an older version, or by hand) is tightened. Returns why it could not
 * be tightened (a directory owned by another user), for a warning: the server still runs.
 */
export function ensurePrivateDirectory(path: string): string | undefined {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  if ((statSync(path).mode & 0o077) === 0) return undefined;
  try {
    chmodSync(path, PRIVATE_DIRECTORY_MODE);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}
