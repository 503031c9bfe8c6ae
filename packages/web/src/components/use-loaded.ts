import { type Dispatch, type SetStateAction, useEffect, useRef, useState } from 'react';
import { errorMessage } from './ui.tsx';

export interface Loaded<T> {
  /** null while loading (or after an error). */
  value: T | null;
  /** For the page's own changes and live updates. */
  setValue: Dispatch<SetStateAction<T | null>>;
  error: string | null;
  setError: Dispatch<SetStateAction<string | null>>;
}

/**
 * Loads a page's data when it mounts and again whenever `key` changes (say, a filter): the
 * previous load is abandoned, the value goes back to null meanwhile, and a failure becomes a
 * message to show.
 */
export function useLoaded<T>(load: (signal: AbortSignal) => Promise<T>, key = ''): Loaded<T> {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const loadRef = useRef(load);
  loadRef.current = load;
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new key is what starts a new load
  useEffect(() => {
    const ctrl = new AbortController();
    setValue(null);
    setError(null);
    loadRef
      .current(ctrl.signal)
      .then((v) => {
        if (!ctrl.signal.aborted) setValue(v);
      })
      .catch((err) => {
        if (!ctrl.signal.aborted) setError(errorMessage(err));
      });
    return () => ctrl.abort();
  }, [key]);
  return { value, setValue, error, setError };
}
