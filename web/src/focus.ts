import { useEffect, useRef } from 'preact/hooks';

/**
 * The page's title, and focus on its heading when the page changes (not on the first load), so
 * that keyboard and screen reader users start at the top of what is new.
 */
let firstPage = true;

export function useHeading(title: string) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · streamdelta`;
  }, [title]);
  useEffect(() => {
    if (firstPage) {
      firstPage = false;
      return;
    }
    ref.current?.focus();
  }, []);
  return ref;
}
