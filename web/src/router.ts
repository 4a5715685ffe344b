/** Client-side routes under /app/: the History API, and a hook that follows it. */
import { useEffect, useState } from 'preact/hooks';
import { BASE, routeOf, type Route } from './state.js';

const listeners = new Set<() => void>();

export function navigate(path: string, options: { replace?: boolean } = {}): void {
  if (path !== location.pathname) {
    if (options.replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
  }
  for (const listener of listeners) listener();
}

export function useRoute(): Route {
  const [route, setRoute] = useState<Route>(() => routeOf(location.pathname));
  useEffect(() => {
    // The server also answers `/` with the app: show its address as the app's own.
    if (location.pathname === '/') history.replaceState(null, '', BASE);
    const update = () => setRoute(routeOf(location.pathname));
    listeners.add(update);
    addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      removeEventListener('popstate', update);
    };
  }, []);
  return route;
}
