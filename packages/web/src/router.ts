import { useEffect, useState } from 'react';

export type Route =
  | { name: 'login' }
  | { name: 'cameras' }
  /** `#/cameras/<id>?t=<epoch ms>`: `t` is a moment to play (e.g. an alert's). */
  | { name: 'camera'; id: string; t?: number }
  | { name: 'cameraForm'; id: string | null }
  | { name: 'alerts' }
  | { name: 'rules' }
  | { name: 'devices' }
  | { name: 'rule'; id: string | null }
  | { name: 'notFound' };

export function parseHash(hash: string): Route {
  const [path = '/', search = ''] = (hash.replace(/^#/, '') || '/').split('?');
  const parts = path.split('/').filter(Boolean);
  const t = Number(new URLSearchParams(search).get('t') ?? Number.NaN);
  if (parts.length === 0) return { name: 'cameras' };
  if (parts[0] === 'login' && parts.length === 1) return { name: 'login' };
  if (parts[0] === 'cameras' && parts.length === 1) return { name: 'cameras' };
  if (parts[0] === 'cameras' && parts.length === 2 && parts[1] === 'new')
    return { name: 'cameraForm', id: null };
  if (parts[0] === 'cameras' && parts.length === 3 && parts[1] && parts[2] === 'edit')
    return { name: 'cameraForm', id: decodeURIComponent(parts[1]) };
  if (parts[0] === 'cameras' && parts.length === 2 && parts[1])
    return {
      name: 'camera',
      id: decodeURIComponent(parts[1]),
      ...(Number.isSafeInteger(t) && t > 0 ? { t } : {}),
    };
  if (parts[0] === 'alerts' && parts.length === 1) return { name: 'alerts' };
  if (parts[0] === 'rules' && parts.length === 1) return { name: 'rules' };
  if (parts[0] === 'devices' && parts.length === 1) return { name: 'devices' };
  if (parts[0] === 'rules' && parts.length === 2 && parts[1])
    return { name: 'rule', id: parts[1] === 'new' ? null : decodeURIComponent(parts[1]) };
  return { name: 'notFound' };
}

export function navigate(path: string): void {
  window.location.hash = path;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
