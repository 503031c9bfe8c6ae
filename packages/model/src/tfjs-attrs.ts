import type { TfjsNodeDef } from './tfjs-graph.ts';

/** Readers for the attributes of a TF.js node, with the node named in every error. */

function missing(node: TfjsNodeDef, name: string): Error {
  return new Error(`${node.op} node "${node.name}": attribute ${name} is missing`);
}

export function attrString(node: TfjsNodeDef, name: string, fallback?: string): string {
  const s = node.attr?.[name]?.s;
  if (s === undefined) {
    if (fallback === undefined) throw missing(node, name);
    return fallback;
  }
  return Buffer.from(s, 'base64').toString('utf8');
}

export function attrInt(node: TfjsNodeDef, name: string, fallback?: number): number {
  const i = node.attr?.[name]?.i;
  if (i === undefined) {
    if (fallback === undefined) throw missing(node, name);
    return fallback;
  }
  return Number(i);
}

export function attrFloat(node: TfjsNodeDef, name: string, fallback?: number): number {
  const f = node.attr?.[name]?.f;
  if (f === undefined) {
    if (fallback === undefined) throw missing(node, name);
    return fallback;
  }
  return Number(f);
}

export function attrBool(node: TfjsNodeDef, name: string, fallback = false): boolean {
  return node.attr?.[name]?.b ?? fallback;
}

export function attrInts(node: TfjsNodeDef, name: string, fallback?: number[]): number[] {
  const list = node.attr?.[name]?.list;
  if (list === undefined) {
    if (fallback === undefined) throw missing(node, name);
    return fallback;
  }
  return (list.i ?? []).map(Number);
}

export function attrType(node: TfjsNodeDef, name: string): string | undefined {
  return node.attr?.[name]?.type;
}
