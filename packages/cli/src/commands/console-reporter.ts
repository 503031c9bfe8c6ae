import type { Bus } from '@iceberg/bus';
import type { CameraStatusV1, TrackEventV1 } from '@iceberg/contracts';

const time = (ms: number) => new Date(ms).toISOString().slice(11, 19);

export function trackLine(e: TrackEventV1): string | null {
  const id = `#${e.trackId.split('-').pop()}`;
  if (e.type === 'TrackStarted')
    return `${time(e.at)}  ${e.cameraId}: ${e.class} ${id} appeared (score ${e.score.toFixed(2)})`;
  if (e.type === 'TrackEnded')
    return `${time(e.at)}  ${e.cameraId}: ${e.class} ${id} left after ${((e.lastSeenAt - e.firstSeenAt) / 1000).toFixed(1)} s`;
  return null;
}

export function statusLine(s: CameraStatusV1): string {
  const why = s.problem ? ` — ${s.problem.code}: ${s.problem.message}` : '';
  const retry = s.retryAt ? ` (retry in ${Math.max(0, Math.round((s.retryAt - s.at) / 1000))} s)` : '';
  const stream = s.stream ? ` ${s.stream.width}×${s.stream.height} ${s.stream.codec}` : '';
  return `${time(s.at)}  camera ${s.cameraId} ${s.state}${stream}${why}${retry}`;
}

/** Prints what the edge publishes, as short lines a person can follow, on stdout. */
export async function reportToConsole(
  bus: Bus,
  write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Promise<void> {
  await bus.subscribe('tracks', { group: 'console' }, async (e) => {
    const line = trackLine(e);
    if (line) write(line);
  });
  await bus.subscribe('cameraStatus', { group: 'console' }, async (s) => write(statusLine(s)));
}
