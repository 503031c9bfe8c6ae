import { useEffect, useState } from 'react';
import { fetchImage } from '../api/client.ts';

/** An image behind the bearer token: fetched with Authorization, shown from an object URL revoked on unmount. */
export function AuthImage({
  src,
  alt,
  className,
}: {
  src: string | null | undefined;
  alt: string;
  className?: string;
}) {
  const [url, setUrl] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    setUrl(null);
    setFailed(false);
    if (!src) return;
    const ctrl = new AbortController();
    let objectUrl: string | null = null;
    fetchImage(src, ctrl.signal)
      .then((u) => {
        if (ctrl.signal.aborted) URL.revokeObjectURL(u);
        else {
          objectUrl = u;
          setUrl(u);
        }
      })
      .catch(() => {
        if (!ctrl.signal.aborted) setFailed(true);
      });
    return () => {
      ctrl.abort();
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [src]);

  const cls = `snapshot ${className ?? ''}`.trim();
  if (url) return <img className={cls} src={url} alt={alt} />;
  return (
    <div className={`${cls} snapshot-placeholder`} role="img" aria-label={alt}>
      {!src ? 'No snapshot' : failed ? 'Snapshot unavailable' : 'Loading…'}
    </div>
  );
}
