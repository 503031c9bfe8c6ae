import type { DType, Tensor } from './tensor.ts';

/** A small in-memory ONNX graph the converter builds and the optimiser passes rewrite. */

export type OnnxAttr =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'string'; value: string };

export interface OnnxNode {
  name: string;
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, OnnxAttr>;
}

export interface OnnxValueInfo {
  name: string;
  dtype: DType;
  shape: number[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: Map<string, Tensor>;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export const int = (value: number): OnnxAttr => ({ kind: 'int', value });
export const float = (value: number): OnnxAttr => ({ kind: 'float', value });
export const ints = (value: number[]): OnnxAttr => ({ kind: 'ints', value });
export const str = (value: string): OnnxAttr => ({ kind: 'string', value });

/** Consumers of each tensor name: node indexes into graph.nodes. */
export function consumersOf(graph: OnnxGraph): Map<string, OnnxNode[]> {
  const map = new Map<string, OnnxNode[]>();
  for (const node of graph.nodes) {
    for (const input of node.inputs) {
      if (input === '') continue;
      const list = map.get(input);
      if (list) list.push(node);
      else map.set(input, [node]);
    }
  }
  return map;
}

export function producersOf(graph: OnnxGraph): Map<string, OnnxNode> {
  const map = new Map<string, OnnxNode>();
  for (const node of graph.nodes) for (const output of node.outputs) map.set(output, node);
  return map;
}

/** Drops nodes whose outputs nobody uses and initializers no node reads. */
export function removeDeadCode(graph: OnnxGraph): void {
  const live = new Set(graph.outputs.map((o) => o.name));
  const kept: OnnxNode[] = [];
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i]!;
    if (node.outputs.some((o) => live.has(o))) {
      kept.push(node);
      for (const input of node.inputs) live.add(input);
    }
  }
  graph.nodes = kept.reverse();
  for (const name of [...graph.initializers.keys()]) if (!live.has(name)) graph.initializers.delete(name);
}

/** Replaces every use of tensor `from` by tensor `to`. */
export function replaceUses(graph: OnnxGraph, from: string, to: string): void {
  for (const node of graph.nodes) node.inputs = node.inputs.map((i) => (i === from ? to : i));
}
