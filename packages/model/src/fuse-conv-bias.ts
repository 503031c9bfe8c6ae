import { consumersOf, type OnnxGraph } from './onnx-ir.ts';
import { makeTensor } from './tensor.ts';

/** Conv followed by an Add of a constant [1, C, 1, 1] (or [C, 1, 1]) → Conv with a bias input. */
export function fuseConvBias(graph: OnnxGraph): void {
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const consumers = consumersOf(graph);
  const dropped = new Set<object>();
  for (const conv of graph.nodes) {
    if (conv.op !== 'Conv' || conv.inputs.length !== 2) continue;
    const y = conv.outputs[0]!;
    const users = consumers.get(y) ?? [];
    const add = users[0];
    if (users.length !== 1 || !add || add.op !== 'Add' || outputs.has(y)) continue;
    const biasName = add.inputs[0] === y ? add.inputs[1]! : add.inputs[0]!;
    const bias = graph.initializers.get(biasName);
    const weights = graph.initializers.get(conv.inputs[1]!);
    if (!bias || !weights || bias.dtype !== 'float32' || add.inputs[0] === add.inputs[1]) continue;
    const channels = weights.shape[0]!;
    const dims = [...bias.shape];
    while (dims.length > 3 && dims[0] === 1) dims.shift();
    if (dims.length !== 3 || dims[0] !== channels || dims[1] !== 1 || dims[2] !== 1) continue;
    const name = `${conv.name}/bias`;
    graph.initializers.set(name, makeTensor('float32', [channels], bias.data));
    conv.inputs = [...conv.inputs, name];
    conv.outputs = [add.outputs[0]!];
    dropped.add(add);
  }
  graph.nodes = graph.nodes.filter((n) => !dropped.has(n));
}
