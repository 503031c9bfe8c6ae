import {
  consumersOf,
  ints,
  type OnnxGraph,
  type OnnxNode,
  producersOf,
  removeDeadCode,
  replaceUses,
} from './onnx-ir.ts';
import { invertPerm, makeTensor, toNumbers, transposeTensor } from './tensor.ts';

/**
 * Removes the layout transposes that NHWC TensorFlow ops and NCHW ONNX ops put around each other:
 * moves each Transpose down through elementwise ops, Pad and Concat, and merges or cancels
 * consecutive Transposes. The result computes the same values.
 */

const UNARY = new Set(['LeakyRelu', 'Sigmoid', 'Relu', 'Tanh', 'Identity']);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min']);

function permOf(node: OnnxNode): number[] {
  const perm = node.attrs.perm;
  if (perm?.kind !== 'ints') throw new Error(`Transpose ${node.name} has no perm`);
  return perm.value;
}

const isIdentityPerm = (perm: number[]) => perm.every((p, i) => p === i);
const samePerm = (a: number[], b: number[]) => a.length === b.length && a.every((p, i) => p === b[i]);

function nameFactory(graph: OnnxGraph): (base: string) => string {
  const used = new Set<string>(graph.initializers.keys());
  for (const n of graph.nodes) for (const t of [...n.inputs, ...n.outputs]) used.add(t);
  for (const v of [...graph.inputs, ...graph.outputs]) used.add(v.name);
  return (base) => {
    let name = base;
    for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    return name;
  };
}

/** Transpose(Transpose(x)) → one Transpose of x, or x itself when they cancel. */
function mergeChains(graph: OnnxGraph): boolean {
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const producers = producersOf(graph);
  let changed = false;
  for (const t2 of graph.nodes) {
    if (t2.op !== 'Transpose') continue;
    const t1 = producers.get(t2.inputs[0]!);
    if (t1?.op !== 'Transpose') continue;
    const p1 = permOf(t1);
    const composed = permOf(t2).map((i) => p1[i]!);
    const x = t1.inputs[0]!;
    const y = t2.outputs[0]!;
    changed = true;
    if (isIdentityPerm(composed)) {
      if (outputs.has(y)) {
        t2.op = 'Identity';
        t2.inputs = [x];
        t2.attrs = {};
      } else {
        replaceUses(graph, y, x);
        t2.outputs = [];
      }
    } else {
      t2.inputs = [x];
      t2.attrs = { perm: ints(composed) };
    }
  }
  graph.nodes = graph.nodes.filter((n) => n.outputs.length > 0);
  return changed;
}

/** Moves one Transpose below its sole consumer when that consumer commutes with it. */
function sinkOne(graph: OnnxGraph, fresh: (base: string) => string): boolean {
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const consumers = consumersOf(graph);
  const producers = producersOf(graph);
  const soleTransposeInto = (tensor: string, node: OnnxNode, perm: number[]) => {
    const t = producers.get(tensor);
    const users = consumers.get(tensor) ?? [];
    return t?.op === 'Transpose' &&
      samePerm(permOf(t), perm) &&
      !outputs.has(tensor) &&
      users.every((u) => u === node)
      ? t
      : undefined;
  };

  for (const t of graph.nodes) {
    if (t.op !== 'Transpose') continue;
    const y = t.outputs[0]!;
    const users = consumers.get(y) ?? [];
    const c = users[0];
    if (!c || outputs.has(y) || users.some((u) => u !== c) || c.outputs.length !== 1) continue;
    const perm = permOf(t);
    const inverse = invertPerm(perm);
    const x = t.inputs[0]!;

    if (UNARY.has(c.op) && c.inputs.length === 1) {
      c.inputs = [x];
    } else if (BINARY.has(c.op)) {
      const rewired: string[] = [];
      for (const input of c.inputs) {
        if (input === y) {
          rewired.push(x);
          continue;
        }
        const constant = graph.initializers.get(input);
        const other = soleTransposeInto(input, c, perm);
        if (constant && constant.shape.length <= perm.length) {
          const expanded = {
            ...constant,
            shape: [...new Array<number>(perm.length - constant.shape.length).fill(1), ...constant.shape],
          };
          const name = fresh(`${input}/T`);
          graph.initializers.set(name, transposeTensor(expanded, inverse));
          rewired.push(name);
        } else if (other) {
          rewired.push(other.inputs[0]!);
        } else {
          break;
        }
      }
      if (rewired.length !== c.inputs.length) continue;
      c.inputs = rewired;
    } else if (c.op === 'Pad' && c.inputs[0] === y && c.inputs.slice(1).every((i) => i !== y)) {
      const pads = graph.initializers.get(c.inputs[1]!);
      if (!pads) continue;
      const p = toNumbers(pads);
      const r = perm.length;
      const moved = [...inverse.map((i) => p[i]!), ...inverse.map((i) => p[r + i]!)];
      const name = fresh(`${c.inputs[1]}/T`);
      graph.initializers.set(name, makeTensor('int64', [2 * r], moved));
      c.inputs = [x, name, ...c.inputs.slice(2)];
    } else if (c.op === 'Concat') {
      const sources = c.inputs.map((i) => (i === y ? t : soleTransposeInto(i, c, perm)));
      if (sources.some((s) => s === undefined)) continue;
      const axis = c.attrs.axis?.kind === 'int' ? c.attrs.axis.value : 0;
      c.inputs = sources.map((s) => s!.inputs[0]!);
      c.attrs = { ...c.attrs, axis: { kind: 'int', value: perm[axis < 0 ? axis + perm.length : axis]! } };
    } else {
      continue;
    }
    // The transpose now reads c's new output and produces c's old output, right after c.
    const moved = fresh(`${c.outputs[0]}/pre_T`);
    t.inputs = [moved];
    t.outputs = [c.outputs[0]!];
    c.outputs = [moved];
    graph.nodes.splice(graph.nodes.indexOf(t), 1);
    graph.nodes.splice(graph.nodes.indexOf(c) + 1, 0, t);
    return true;
  }
  return false;
}

export function optimizeTransposes(graph: OnnxGraph): void {
  const fresh = nameFactory(graph);
  for (;;) {
    const merged = mergeChains(graph);
    removeDeadCode(graph);
    if (!merged && !sinkOne(graph, fresh)) break;
  }
}
