import { consumersOf, type OnnxGraph, producersOf, replaceUses } from './onnx-ir.ts';

/** Removes Identity nodes: readers use the source directly; a graph output is renamed onto its producer. */
export function removeIdentities(graph: OnnxGraph): void {
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const producers = producersOf(graph);
  const consumers = consumersOf(graph);
  const dropped = new Set<object>();
  for (const node of graph.nodes) {
    if (node.op !== 'Identity') continue;
    const [source, target] = [node.inputs[0]!, node.outputs[0]!];
    if (!outputs.has(target)) {
      replaceUses(graph, target, source);
      dropped.add(node);
      continue;
    }
    const producer = producers.get(source);
    const sole = (consumers.get(source) ?? []).length === 1;
    if (producer && sole && !outputs.has(source)) {
      producer.outputs = producer.outputs.map((o) => (o === source ? target : o));
      producers.set(target, producer);
      dropped.add(node);
    }
  }
  graph.nodes = graph.nodes.filter((n) => !dropped.has(n));
}
