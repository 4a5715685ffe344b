/** The URL-friendly form of a name: lower-case ASCII letters and digits joined by single dashes. */
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    // Accents come apart from their letters under NFKD; dropping them keeps `café` as `cafe`.
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

export const NAME_MAX_LENGTH = 255;

/** Why a name is unusable (it needs a slug: some letters or digits), or undefined. */
export function nameProblem(what: string, name: string): string | undefined {
  if (name.trim() === '') return `${what} name must not be empty`;
  if ([...name].length > NAME_MAX_LENGTH) return `${what} name must be at most ${NAME_MAX_LENGTH} characters`;
  if (/\p{Cc}/u.test(name)) return `${what} name must not contain control characters`;
  if (slugify(name) === '') return `${what} name needs at least one letter or digit`;
  return undefined;
}
