import type { Annotation } from '@iceberg/vision';

/**
 * The latest objects the camera pipeline saw, per camera, for drawing onto live frames. The
 * pipeline analyses a few frames a second and the live stream runs at ~10, so the boxes of the
 * last analysis are drawn until the next one; after `maxAgeMs` without analysis none are drawn.
 */
export class LatestTracks {
  private readonly byCamera = new Map<string, { objects: readonly Annotation[]; at: number }>();

  update(cameraId: string, objects: readonly Annotation[], at: number): void {
    this.byCamera.set(cameraId, { objects, at });
  }

  get(cameraId: string, now: number, maxAgeMs: number): readonly Annotation[] {
    const latest = this.byCamera.get(cameraId);
    if (!latest || now - latest.at > maxAgeMs) return [];
    return latest.objects;
  }
}
