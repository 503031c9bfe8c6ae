import { existsSync } from 'node:fs';
import { IcebergError } from '@iceberg/common';
import { cocoClasses, type ObjectClass } from '@iceberg/contracts';
import * as ort from 'onnxruntime-node';
import type { DetectionResult, Detector } from './detector.ts';
import { decodeNanodet, type HeadOutput, nanodetHead } from './nanodet-decoder.ts';
import { Preprocessor } from './preprocess.ts';
import type { BgrFrame } from './types.ts';

export interface OnnxDetectorOptions {
  modelPath: string;
  /** ONNX Runtime intra-op threads for this session. */
  threads: number;
  classes: readonly ObjectClass[];
  minScore: number;
  nmsIou: number;
}

/**
 * NanoDet-g on ONNX Runtime (CPU). Finds the six head outputs by their shapes ([1, HW, 80]
 * scores, [1, HW, 44] box distributions, HW giving the stride), so it does not depend on the
 * converter's output names. The same file runs on CUDA/TensorRT providers where they exist.
 */
export class OnnxDetector implements Detector {
  readonly name = 'nanodet-g (onnxruntime cpu)';
  readonly inputSize = { width: nanodetHead.inputSize, height: nanodetHead.inputSize };
  private readonly preprocessor = new Preprocessor();
  private readonly input = new Float32Array(3 * nanodetHead.inputSize * nanodetHead.inputSize);
  private readonly classIds: number[];
  private busy = false;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly options: OnnxDetectorOptions,
  ) {
    this.classIds = options.classes.map((c) => cocoClasses.indexOf(c));
  }

  static async create(options: OnnxDetectorOptions): Promise<OnnxDetector> {
    if (!existsSync(options.modelPath)) {
      throw new IcebergError(
        'ICEBERG_ERR_MODEL_MISSING',
        `model file ${options.modelPath} does not exist: build it with "npm run build:model" (the set-up script does this)`,
      );
    }
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(options.modelPath, {
        executionProviders: ['cpu'],
        intraOpNumThreads: options.threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        // No busy-waiting between operators: the CPU is shared with ffmpeg and the other detectors.
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      });
    } catch (err) {
      throw new IcebergError(
        'ICEBERG_ERR_MODEL_INVALID',
        `cannot load model ${options.modelPath}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return new OnnxDetector(session, options);
  }

  async detect(frame: BgrFrame): Promise<DetectionResult> {
    if (frame.width !== this.inputSize.width || frame.height !== this.inputSize.height) {
      throw new IcebergError(
        'ICEBERG_ERR_INPUT_INVALID',
        `the detector takes ${this.inputSize.width}×${this.inputSize.height} frames, got ${frame.width}×${frame.height}`,
      );
    }
    return this.detectPlanar(this.preprocessor.toPlanar(frame, this.input));
  }

  /** Inference on an already normalised planar input (NCHW, 3×416×416): what `WorkerDetector` sends. */
  async detectPlanar(input: Float32Array): Promise<DetectionResult> {
    if (input.length !== 3 * this.inputSize.width * this.inputSize.height) {
      throw new IcebergError(
        'ICEBERG_ERR_INPUT_INVALID',
        `the detector takes 3×${this.inputSize.height}×${this.inputSize.width} floats, got ${input.length}`,
      );
    }
    if (this.busy) throw new Error('OnnxDetector runs one inference at a time: use a pool for concurrency');
    this.busy = true;
    try {
      const feeds = {
        [this.session.inputNames[0]!]: new ort.Tensor('float32', input, [
          1,
          3,
          this.inputSize.height,
          this.inputSize.width,
        ]),
      };
      const started = performance.now();
      const results = await this.session.run(feeds);
      const inferenceMs = performance.now() - started;
      const heads = this.collectHeads(results);
      const detections = decodeNanodet(heads, {
        minScore: this.options.minScore,
        nmsIou: this.options.nmsIou,
        classIds: this.classIds,
      });
      return { detections, inferenceMs };
    } finally {
      this.busy = false;
    }
  }

  async close(): Promise<void> {
    await this.session.release();
  }

  private collectHeads(results: ort.InferenceSession.OnnxValueMapType): HeadOutput[] {
    const byCells = new Map<number, Partial<HeadOutput>>();
    const size = nanodetHead.inputSize;
    for (const name of this.session.outputNames) {
      const tensor = results[name] as ort.Tensor;
      const [, cells, channels] = tensor.dims as number[];
      const entry = byCells.get(cells!) ?? { stride: stridesByCells(size).get(cells!) };
      if (channels === nanodetHead.numClasses) entry.scores = tensor.data as Float32Array;
      else if (channels === 4 * (nanodetHead.regMax + 1)) entry.boxes = tensor.data as Float32Array;
      byCells.set(cells!, entry);
    }
    const heads = [...byCells.values()];
    if (heads.length !== 3 || heads.some((h) => !h.stride || !h.scores || !h.boxes)) {
      throw new IcebergError(
        'ICEBERG_ERR_MODEL_INVALID',
        'the model does not have NanoDet outputs ([1,HW,80] and [1,HW,44] for strides 8, 16, 32)',
      );
    }
    return heads as HeadOutput[];
  }
}

function stridesByCells(size: number): Map<number, number> {
  return new Map(nanodetHead.strides.map((s) => [Math.ceil(size / s) ** 2, s]));
}
