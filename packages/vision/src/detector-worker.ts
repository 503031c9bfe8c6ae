/**
 * Worker thread entry: hosts one OnnxDetector so that inference (which runs synchronously inside
 * ONNX Runtime's binding) never blocks the main thread's event loop, and so that several
 * detectors really run in parallel.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { OnnxDetector, type OnnxDetectorOptions } from './onnx-detector.ts';
import type { WorkerReply, WorkerRequest } from './worker-protocol.ts';

const port = parentPort;
if (!port) throw new Error('detector-worker.ts must run in a worker thread');

const reply = (message: WorkerReply) => port.postMessage(message);

try {
  const detector = await OnnxDetector.create(workerData as OnnxDetectorOptions);
  // Requests run one after another: the session does one inference at a time.
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (request: WorkerRequest) => {
    if (request.type === 'close') {
      queue = queue.then(() => detector.close()).finally(() => port.close());
      return;
    }
    queue = queue.then(() =>
      detector.detectPlanar(request.input).then(
        (result) => reply({ type: 'result', id: request.id, result }),
        (err: unknown) =>
          reply({
            type: 'error',
            id: request.id,
            code: (err as { code?: string }).code ?? null,
            message: (err as Error).message,
          }),
      ),
    );
  });
  reply({ type: 'ready' });
} catch (err) {
  reply({ type: 'fatal', code: (err as { code?: string }).code ?? null, message: (err as Error).message });
}
