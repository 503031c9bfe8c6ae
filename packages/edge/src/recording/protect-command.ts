/**
 * The device's side of `ProtectRecording` (command.v1): the server raised an alert and asks for
 * the camera's footage around it to be kept `recording.protectedDays`. The recorder marks the
 * segments overlapping the range now and those that close inside it later (the post-roll).
 */
import type { ProtectRecordingV1 } from '@iceberg/contracts';
import type { CommandOutcome } from '../live/streaming-agent.ts';
import type { RecordingManager } from './recording-manager.ts';

/** The StreamingAgent's handler of ProtectRecording, over the device's recordings (none: it fails). */
export function protectRecordingHandler(
  recordings: Pick<RecordingManager, 'recorder'> | null,
): (command: ProtectRecordingV1) => Promise<CommandOutcome> {
  return async (c) => {
    const recorder = recordings?.recorder(c.cameraId);
    if (!recorder)
      return {
        status: 'failed',
        reason: 'unknown_camera',
        message: `this device does not record a camera "${c.cameraId}"`,
      };
    await recorder.protect(c.from, c.to);
    const kept = recorder.index
      .list()
      .filter((s) => s.protected && s.segment.startedAt < c.to && s.segment.endedAt > c.from).length;
    return {
      status: 'accepted',
      message: `footage of ${new Date(c.from).toISOString()} to ${new Date(c.to).toISOString()} protected for alert ${c.alertId} (${kept} segments so far)`,
    };
  };
}
