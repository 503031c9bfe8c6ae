/**
 * The retention policy, pure: which segments to remove, given the segments on the disk, the
 * caps, the time and the space the disk floor asks for. No I/O; tested with tables of cases.
 *
 * Order of the rules, each applied to what the previous ones left:
 * 1. `max_age`: a segment older than its camera's age cap (the smaller of the camera's and the
 *    overall cap) goes; a protected one (overlapping a track or an alert) only once it is older
 *    than the larger of that cap and `protectedMs`.
 * 2. `max_size`: per camera, while the camera's bytes exceed its cap, its oldest segment goes,
 *    unprotected ones first.
 * 3. `total_max_size`: the same over all cameras together.
 * 4. `free_space_floor`: the oldest unprotected segments of any camera go until `needBytes` are
 *    freed. Protected segments are never removed for the floor: recording pauses instead.
 * Pending segments (events mode, not yet decided) are left alone by every rule.
 */

export interface RetentionSegment {
  id: string;
  cameraId: string;
  startedAt: number;
  endedAt: number;
  bytes: number;
  protected: boolean;
  pending?: boolean;
}

export interface RetentionPolicy {
  /** Per-camera caps; cameras not listed have none of their own. */
  cameras: Readonly<Record<string, { maxAgeMs?: number | undefined; maxBytes?: number | undefined }>>;
  total: { maxAgeMs: number; maxBytes?: number | undefined };
  /** Protected segments are kept at least this long. */
  protectedMs: number;
}

export type RetentionReason = 'max_age' | 'max_size' | 'total_max_size' | 'free_space_floor';

export interface RetentionDeletion {
  id: string;
  cameraId: string;
  bytes: number;
  reason: RetentionReason;
}

export function planRetention(
  segments: readonly RetentionSegment[],
  policy: RetentionPolicy,
  now: number,
  needBytes = 0,
): RetentionDeletion[] {
  const out: RetentionDeletion[] = [];
  const gone = new Set<string>();
  const remove = (s: RetentionSegment, reason: RetentionReason) => {
    gone.add(s.id);
    out.push({ id: s.id, cameraId: s.cameraId, bytes: s.bytes, reason });
  };
  const oldestFirst = [...segments]
    .filter((s) => !s.pending)
    .sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id));

  // 1. age
  for (const s of oldestFirst) {
    const own = policy.cameras[s.cameraId]?.maxAgeMs;
    const cap = own === undefined ? policy.total.maxAgeMs : Math.min(own, policy.total.maxAgeMs);
    const limit = s.protected ? Math.max(cap, policy.protectedMs) : cap;
    if (now - s.endedAt > limit) remove(s, 'max_age');
  }

  // 2. size per camera
  const byCamera = new Map<string, RetentionSegment[]>();
  for (const s of oldestFirst) {
    if (gone.has(s.id)) continue;
    const list = byCamera.get(s.cameraId) ?? [];
    list.push(s);
    byCamera.set(s.cameraId, list);
  }
  for (const [cameraId, list] of byCamera) {
    const cap = policy.cameras[cameraId]?.maxBytes;
    if (cap === undefined) continue;
    trim(list, cap, 'max_size');
  }

  // 3. size overall
  if (policy.total.maxBytes !== undefined)
    trim(
      oldestFirst.filter((s) => !gone.has(s.id)),
      policy.total.maxBytes,
      'total_max_size',
    );

  // 4. the free-space floor
  let need = needBytes - out.reduce((sum, d) => sum + d.bytes, 0);
  for (const s of oldestFirst) {
    if (need <= 0) break;
    if (gone.has(s.id) || s.protected) continue;
    remove(s, 'free_space_floor');
    need -= s.bytes;
  }
  return out;

  /** Removes the oldest of `list` (unprotected first) until its bytes fit under `cap`. */
  function trim(list: RetentionSegment[], cap: number, reason: RetentionReason): void {
    let bytes = list.reduce((sum, s) => sum + s.bytes, 0);
    for (const pass of [false, true]) {
      for (const s of list) {
        if (bytes <= cap) return;
        if (gone.has(s.id) || s.protected !== pass) continue;
        remove(s, reason);
        bytes -= s.bytes;
      }
    }
  }
}
