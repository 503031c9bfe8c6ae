// A recorder process for the crash test: records one file camera into a data directory and
// prints each closed segment as a JSON line, until it is killed (kill -9, no chance to clean up).
import { CameraSource, RecordingManager } from '@iceberg/edge';
import { quiet, recordingConfig } from './recording-helpers.ts';

const [dataDir, input] = process.argv.slice(2);
if (!dataDir || !input) throw new Error('usage: recording-crash-child DATADIR INPUT');
const config = recordingConfig({
  org: 'acme',
  dataDir,
  cameras: [{ id: 'yard', input, loop: true, realtime: true, record: { segmentSeconds: 2 } }],
});
const manager = new RecordingManager(config, { publish: async () => {}, logger: quiet, pollMs: 200 });
await manager.start();
const recorder = manager.recorder('yard');
if (!recorder) throw new Error('no recorder');
recorder.on('segment', (s) => process.stdout.write(`${JSON.stringify(s.segment)}\n`));
const source = new CameraSource({
  cameraId: 'yard',
  input,
  fps: 1,
  loop: true,
  realtime: true,
  viewMaxWidth: 64,
  attemptOutputs: () => recorder.attemptOutputs(),
  logger: quiet,
});
recorder.attach(source);
source.on('status', (s) => {
  if (s.state === 'online') process.stdout.write(`${JSON.stringify({ online: s.at, pid: source.pid })}\n`);
});
source.start();
