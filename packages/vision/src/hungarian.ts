/**
 * Optimal assignment (Hungarian / Kuhn–Munkres algorithm, shortest augmenting paths with
 * potentials, O(n²·m)) for a rectangular cost matrix.
 *
 * `cost[r][c]` is the cost of giving column c to row r. A non-finite entry (Infinity, NaN) forbids
 * that pair. The result maps each row to its column, or -1 when the row is left unassigned.
 *
 * Among all assignments it first maximises the number of allowed pairs, then minimises their total
 * cost. Each row gets at most one column and each column at most one row; when there are more rows
 * than columns (or the other way round) the surplus stays unassigned.
 */
export function solveAssignment(cost: readonly (readonly number[])[]): number[] {
  const rows = cost.length;
  const cols = rows === 0 ? 0 : Math.max(...cost.map((r) => r.length));
  if (rows === 0 || cols === 0) return new Array<number>(rows).fill(-1);

  // A forbidden pair costs more than any assignment made only of allowed pairs could, so the
  // optimum uses as few of them as possible; they are dropped from the answer afterwards.
  let maxFinite = 0;
  for (const row of cost)
    for (const v of row) if (Number.isFinite(v)) maxFinite = Math.max(maxFinite, Math.abs(v));
  const forbidden = (maxFinite + 1) * (Math.min(rows, cols) + 1);
  const at = (r: number, c: number): number => {
    const v = cost[r]?.[c];
    return v !== undefined && Number.isFinite(v) ? v : forbidden;
  };

  // The algorithm below needs n ≤ m: work on the transpose when there are more rows than columns.
  const transposed = rows > cols;
  const n = transposed ? cols : rows;
  const m = transposed ? rows : cols;
  const a = (i: number, j: number): number => (transposed ? at(j, i) : at(i, j));

  // 1-based arrays as in the classic formulation; index 0 is the virtual start column.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1); // p[j]: the row matched to column j (0 = none)
  const way = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);

  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Number.POSITIVE_INFINITY);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = Number.POSITIVE_INFINITY;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = a(i0 - 1, j - 1) - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]!] = u[p[j]!]! + delta;
          v[j] = v[j]! - delta;
        } else {
          minv[j] = minv[j]! - delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }

  const result = new Array<number>(rows).fill(-1);
  for (let j = 1; j <= m; j++) {
    const i = p[j]!;
    if (i === 0) continue;
    const r = transposed ? j - 1 : i - 1;
    const c = transposed ? i - 1 : j - 1;
    const raw = cost[r]?.[c];
    if (raw !== undefined && Number.isFinite(raw)) result[r] = c;
  }
  return result;
}

/** Total cost of an assignment as returned by {@link solveAssignment} (unassigned rows cost nothing). */
export function assignmentCost(cost: readonly (readonly number[])[], assignment: readonly number[]): number {
  let total = 0;
  assignment.forEach((c, r) => {
    if (c >= 0) total += cost[r]?.[c] ?? 0;
  });
  return total;
}
