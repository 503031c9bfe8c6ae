/** A candidate box in input pixels, corners form. */
export interface Candidate {
  classId: number;
  score: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

function iou(a: Candidate, b: Candidate): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy non-maximum suppression per class: keeps the best box and removes boxes of the same
 * class that overlap it by more than `iouThreshold`. Returns the kept boxes by falling score.
 */
export function nmsPerClass(candidates: Candidate[], iouThreshold: number, maxDetections = 300): Candidate[] {
  const sorted = [...candidates].sort((a, b) => b.score - a.score);
  const kept: Candidate[] = [];
  const removed = new Uint8Array(sorted.length);
  for (let i = 0; i < sorted.length && kept.length < maxDetections; i++) {
    if (removed[i]) continue;
    const a = sorted[i]!;
    kept.push(a);
    for (let j = i + 1; j < sorted.length; j++) {
      if (!removed[j] && sorted[j]!.classId === a.classId && iou(a, sorted[j]!) > iouThreshold)
        removed[j] = 1;
    }
  }
  return kept;
}
