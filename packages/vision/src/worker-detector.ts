import { Worker } from 'node:worker_threads';
import { type ErrorCode, errorCodes, IcebergError } from '@iceberg/common';
import type { DetectionResult, Detector } from './detector.ts';
import { nanodetHead } from './nanodet-decoder.ts';
import type { OnnxDetectorOptions } from './onnx-detector.ts';
import { Preprocessor } from './preprocess.ts';
import type { BgrFrame } from './types.ts';
import type { WorkerReply, WorkerRequest } from './worker-protocol.ts';

function toError(code: string | null, message: string): Error {
  return code && code in errorCodes ? new IcebergError(code as ErrorCode, message) : new Error(message);
}

/**
 * The ONNX detector in a worker thread. The frame is copied to the worker (0.5 MB, well under a
 * millisecond); inference and decoding run there. If the worker dies, pending and later calls
 * fail with a clear error instead of hanging.
 */
export class WorkerDetector implements Detector {
  readonly name = 'nanodet-g (onnxruntime cpu, worker thread)';
  readonly inputSize = { width: nanodetHead.inputSize, height: nanodetHead.inputSize };
  /** The worker runs requests one after another: a second one waits there, ready, with no gap. */
  readonly maxInFlight = 2;
  private readonly pending = new Map<
    number,
    { resolve: (r: DetectionResult) => void; reject: (e: Error) => void }
  >();
  private nextId = 1;
  private dead: Error | null = null;
  private readonly preprocessor = new Preprocessor();

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: WorkerReply) => {
      if (reply.type !== 'result' && reply.type !== 'error') return;
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.type === 'result') p.resolve(reply.result);
      else p.reject(toError(reply.code, reply.message));
    });
    const fail = (err: Error) => {
      this.dead = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) =>
      fail(new IcebergError('ICEBERG_ERR_INTERNAL', `detector worker crashed: ${err.message}`)),
    );
    worker.on('exit', (code) =>
      fail(new IcebergError('ICEBERG_ERR_INTERNAL', `detector worker exited (code ${code})`)),
    );
  }

  static async create(options: OnnxDetectorOptions): Promise<WorkerDetector> {
    const worker = new Worker(new URL('./detector-worker.mjs', import.meta.url), { workerData: options });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (reply: WorkerReply) => {
        if (reply.type === 'ready') resolve();
        else if (reply.type === 'fatal') {
          void worker.terminate();
          reject(toError(reply.code, reply.message));
        } else return;
        worker.off('message', onMessage);
        worker.off('error', reject);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
    return new WorkerDetector(worker);
  }

  detect(frame: BgrFrame): Promise<DetectionResult> {
    if (this.dead) return Promise.reject(this.dead);
    if (frame.width !== this.inputSize.width || frame.height !== this.inputSize.height) {
      return Promise.reject(
        new IcebergError(
          'ICEBERG_ERR_INPUT_INVALID',
          `the detector takes ${this.inputSize.width}×${this.inputSize.height} frames, got ${frame.width}×${frame.height}`,
        ),
      );
    }
    const id = this.nextId++;
    // Normalised here (≈2 ms), so the worker spends its time on inference alone; the tensor is moved, not copied.
    const input = this.preprocessor.toPlanar(frame);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: WorkerRequest = { type: 'detect', id, input };
      this.worker.postMessage(request, [input.buffer]);
    });
  }

  async close(): Promise<void> {
    if (this.dead) return;
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage({ type: 'close' } satisfies WorkerRequest);
    const timeout = setTimeout(() => void this.worker.terminate(), 2000);
    await exited;
    clearTimeout(timeout);
  }
}

/** The detector pool for the scheduler: `concurrency` workers with `threads` threads each. */
export async function createDetectorPool(
  options: OnnxDetectorOptions & { concurrency: number },
): Promise<WorkerDetector[]> {
  const { concurrency, ...detectorOptions } = options;
  const pool: WorkerDetector[] = [];
  try {
    for (let i = 0; i < concurrency; i++) pool.push(await WorkerDetector.create(detectorOptions));
  } catch (err) {
    await Promise.all(pool.map((d) => d.close()));
    throw err;
  }
  return pool;
}
