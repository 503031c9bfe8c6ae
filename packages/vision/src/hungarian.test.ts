import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assignmentCost, solveAssignment } from './hungarian.ts';

const X = Number.POSITIVE_INFINITY;

/** Every assignment by brute force: best = most allowed pairs, then least cost. */
function bruteForce(cost: number[][]): { pairs: number; total: number } {
  const rows = cost.length;
  const cols = cost[0]?.length ?? 0;
  let best = { pairs: -1, total: Number.POSITIVE_INFINITY };
  const usedCols = new Array<boolean>(cols).fill(false);
  const walk = (r: number, pairs: number, total: number) => {
    if (r === rows) {
      if (pairs > best.pairs || (pairs === best.pairs && total < best.total - 1e-9)) best = { pairs, total };
      return;
    }
    walk(r + 1, pairs, total); // leave row r unassigned
    for (let c = 0; c < cols; c++) {
      const v = cost[r]![c]!;
      if (usedCols[c] || !Number.isFinite(v)) continue;
      usedCols[c] = true;
      walk(r + 1, pairs + 1, total + v);
      usedCols[c] = false;
    }
  };
  walk(0, 0, 0);
  return best;
}

function isValid(assignment: number[], cost: number[][]): boolean {
  const cols = assignment.filter((c) => c >= 0);
  return (
    new Set(cols).size === cols.length && assignment.every((c, r) => c < 0 || Number.isFinite(cost[r]![c]!))
  );
}

describe('solveAssignment (Hungarian)', () => {
  const cases: Array<{ name: string; cost: number[][]; expected: number[] }> = [
    { name: 'empty', cost: [], expected: [] },
    { name: '1×1', cost: [[5]], expected: [0] },
    {
      name: 'greedy would be wrong',
      cost: [
        [1, 2],
        [2, 100],
      ],
      expected: [1, 0],
    },
    {
      name: 'classic 3×3',
      cost: [
        [4, 1, 3],
        [2, 0, 5],
        [3, 2, 2],
      ],
      expected: [1, 0, 2],
    },
    {
      name: 'classic 4×4 (total 13)',
      cost: [
        [9, 2, 7, 8],
        [6, 4, 3, 7],
        [5, 8, 1, 8],
        [7, 6, 9, 4],
      ],
      expected: [1, 0, 2, 3],
    },
    {
      name: 'more rows than columns: the costliest row stays out',
      cost: [[1], [0.2], [3]],
      expected: [-1, 0, -1],
    },
    {
      name: 'more columns than rows',
      cost: [
        [5, 1, 9, 4],
        [2, 1, 9, 8],
      ],
      expected: [1, 0],
    },
    {
      name: 'forbidden pairs are never returned',
      cost: [
        [X, 1],
        [X, 2],
      ],
      expected: [1, -1],
    },
    {
      name: 'prefers more pairs over a cheaper single pair',
      cost: [
        [1, 10],
        [0.5, X],
      ],
      expected: [1, 0],
    },
    { name: 'all forbidden', cost: [[X, X]], expected: [-1] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = solveAssignment(c.cost);
      assert.deepEqual(got, c.expected);
    });
  }

  test('matches brute force on 300 random matrices up to 6×6, rectangular, with forbidden pairs', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let k = 0; k < 300; k++) {
      const rows = 1 + Math.floor(rand() * 6);
      const cols = 1 + Math.floor(rand() * 6);
      const cost = Array.from({ length: rows }, () =>
        Array.from({ length: cols }, () => (rand() < 0.2 ? X : Math.round(rand() * 100) / 10)),
      );
      const got = solveAssignment(cost);
      const best = bruteForce(cost);
      assert.ok(isValid(got, cost), `valid assignment for ${JSON.stringify(cost)}`);
      assert.equal(got.filter((c) => c >= 0).length, best.pairs, `pairs for ${JSON.stringify(cost)}`);
      assert.ok(
        Math.abs(assignmentCost(cost, got) - best.total) < 1e-9,
        `optimal for ${JSON.stringify(cost)}`,
      );
    }
  });
});
