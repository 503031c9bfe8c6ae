import { useEffect, useState } from 'react';
import { type DetectionFrame, type LiveObject, useDetections } from '../live.tsx';

/** Boxes older than this disappear. */
const MAX_AGE_MS = 3000;
const VEHICLES = new Set([
  'bicycle',
  'car',
  'motorcycle',
  'bus',
  'truck',
  'train',
  'boat',
  'airplane',
  'vehicle',
]);

export function boxColour(cls: string): string {
  if (cls === 'person') return '#f59e0b';
  if (VEHICLES.has(cls)) return '#38bdf8';
  return '#e879f9';
}

/** Label like the edge annotator: "person 81% #12". */
export function boxLabel(o: LiveObject): string {
  let label = `${o.class} ${Math.round(o.score * 100)}%`;
  if (o.trackId) {
    const n = o.trackId.slice(o.trackId.lastIndexOf('-') + 1);
    if (n) label += ` #${n}`;
  }
  return label;
}

/**
 * Live detection boxes of one camera, drawn as an SVG over the snapshot (the parent must be
 * position: relative). The viewBox is the frame size with "slice", matching object-fit: cover.
 */
export function LiveBoxes({ cameraId }: { cameraId: string }) {
  const [frame, setFrame] = useState<{ f: DetectionFrame; at: number } | null>(null);
  const [now, setNow] = useState(() => Date.now());

  useDetections(cameraId, (f) => {
    const at = Date.now();
    setFrame({ f, at });
    setNow(at);
  });

  useEffect(() => {
    if (!frame) return;
    const t = setTimeout(() => setNow(Date.now()), MAX_AGE_MS + 50);
    return () => clearTimeout(t);
  }, [frame]);

  if (!frame || now - frame.at > MAX_AGE_MS || frame.f.objects.length === 0) return null;
  const w = frame.f.frame?.width || 1;
  const h = frame.f.frame?.height || 1;
  const font = Math.max(9, h / 42);
  const stroke = Math.max(1.5, h / 240);
  return (
    <svg
      className="live-boxes"
      viewBox={`0 0 ${w} ${h}`}
      preserveAspectRatio="xMidYMid slice"
      aria-hidden="true"
      data-testid="live-boxes"
    >
      {frame.f.objects.map((o, i) => {
        const [bx, by, bw, bh] = o.box;
        const colour = boxColour(o.class);
        const label = boxLabel(o);
        const x = bx * w;
        const y = by * h;
        const ly = y - font * 1.3 < 0 ? y : y - font * 1.3;
        return (
          <g key={o.trackId ?? `i${i}`} data-testid="live-box" data-class={o.class}>
            <rect
              x={x}
              y={y}
              width={bw * w}
              height={bh * h}
              fill="none"
              stroke={colour}
              strokeWidth={stroke}
            />
            <rect
              x={x}
              y={ly}
              width={label.length * font * 0.6 + font * 0.4}
              height={font * 1.3}
              fill={colour}
            />
            <text
              x={x + font * 0.2}
              y={ly + font}
              fontSize={font}
              fill="#111827"
              fontFamily="system-ui, sans-serif"
            >
              {label}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
