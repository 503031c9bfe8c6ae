import { statfs } from 'node:fs/promises';

/** Free and total bytes of the file system holding a path. */
export interface DiskSpace {
  freeBytes: number;
  totalBytes: number;
}

/** The port to the file system's figures; tests give their own. */
export type StatDisk = (path: string) => Promise<DiskSpace>;

/** The real one: statfs(2); free is what an unprivileged writer may use (`bavail`). */
export const statfsDisk: StatDisk = async (path) => {
  const s = await statfs(path);
  return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
};

export interface FreeSpaceFloor {
  /** At least this many bytes free… */
  bytes: number;
  /** …or this share of the disk (0–100), whichever is larger. */
  percent: number;
  /** Recording resumes once free space is above the floor by this share of it (0–1). */
  hysteresis: number;
}

export interface DiskVerdict {
  /** Recording must not write (free space under the floor, or not yet back above floor + hysteresis). */
  paused: boolean;
  floorBytes: number;
  resumeBytes: number;
  /** Bytes to free to be back above the resume level (0 when above the floor). */
  needBytes: number;
  freeBytes: number;
}

export function floorBytes(space: DiskSpace, floor: FreeSpaceFloor): number {
  return Math.max(floor.bytes, Math.ceil((space.totalBytes * floor.percent) / 100));
}

/**
 * The disk floor as a state machine with hysteresis: below the floor recording pauses; it
 * resumes only once free space is above the floor plus the hysteresis, so it does not flap
 * around the line. Pure: the caller measures, frees what it can (retention), and asks again.
 */
export class DiskGuard {
  private pausedNow = false;

  constructor(private readonly floor: FreeSpaceFloor) {}

  get paused(): boolean {
    return this.pausedNow;
  }

  /** What to do at this much free space; `needBytes` tells retention how much to free first. */
  assess(space: DiskSpace): DiskVerdict {
    const floor = floorBytes(space, this.floor);
    const resume = Math.ceil(floor * (1 + this.floor.hysteresis));
    const below = this.pausedNow ? space.freeBytes < resume : space.freeBytes < floor;
    return {
      paused: below,
      floorBytes: floor,
      resumeBytes: resume,
      needBytes: below ? resume - space.freeBytes : 0,
      freeBytes: space.freeBytes,
    };
  }

  /** Records the state after retention has run; returns true when it changed. */
  update(space: DiskSpace): { changed: boolean; verdict: DiskVerdict } {
    const verdict = this.assess(space);
    const changed = verdict.paused !== this.pausedNow;
    this.pausedNow = verdict.paused;
    return { changed, verdict };
  }
}
