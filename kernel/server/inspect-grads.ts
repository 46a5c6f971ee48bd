// The gradients panel's records (inspect/gradientRecords, inspect/checkGrads): per
// differentiated function, its latest call in full (the loss, per parameter leaf its path,
// shape, float64 statistics and histogram) and a bounded history of losses and norms. A grad
// call inside a top-level jit reaches here once per call of the compiled step, with the values
// the program returned (transforms/taps.ts). Statistics are computed on the host once per call;
// device arrays are read asynchronously, so a training loop on the GPU does not wait for them.

import { NDArray } from "../core/ndarray";
import { Tracer } from "../core/trace";
import { PyTreeDef } from "../core/tree";
import { ClosedJaxpr } from "../ir/jaxpr";
import { LazySource, captureSource } from "../ir/source";
import { GradCall } from "../transforms/autodiff";
import { checkGradLeaves, checkGrads, checkGradsEps } from "../transforms/check-grads";
import {
  CheckGradsLeaf, CheckGradsParams, CheckGradsResult, GradCallInfo, GradHistoryPoint, GradLeafInfo, GradLeafStats, GradientRecord,
  GradientRecordsResult, InspectRecordsParams,
} from "../protocol";
import { INSPECT_LIMITS, jsonNumber, selectRecords, sourceLine, store, traceIdOf } from "./inspect-common";

/**
 * Statistics of one leaf's values in float64: l2 and mean over all elements (NaN when one is
 * NaN), min and max over the non-NaN ones, and a histogram of the finite ones over their range
 * (NumPy's [v - 0.5, v + 0.5] when they are all equal; no bins when none is finite).
 */
export function leafStats(data: ArrayLike<number>, bins: number = INSPECT_LIMITS.bins): GradLeafStats {
  const n = data.length;
  let sum = 0, sumSq = 0, zeros = 0, nans = 0, infs = 0;
  let min = Infinity, max = -Infinity, fmin = Infinity, fmax = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = +data[i];
    if (x !== x) {
      nans++;
      continue;
    }
    sum += x;
    sumSq += x * x;
    if (x === 0) zeros++;
    if (x < min) min = x;
    if (x > max) max = x;
    if (x === Infinity || x === -Infinity) infs++;
    else {
      if (x < fmin) fmin = x;
      if (x > fmax) fmax = x;
    }
  }
  const histogram = { edges: [] as number[], counts: [] as number[] };
  if (fmin <= fmax) {
    const lo = fmin === fmax ? fmin - 0.5 : fmin;
    const hi = fmin === fmax ? fmax + 0.5 : fmax;
    const counts = new Array<number>(bins).fill(0);
    const scale = bins / (hi - lo);
    for (let i = 0; i < n; i++) {
      const x = +data[i];
      if (!Number.isFinite(x)) continue;
      counts[Math.min(bins - 1, Math.floor((x - lo) * scale))]++;
    }
    histogram.counts = counts;
    histogram.edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + ((hi - lo) * i) / bins));
  }
  const empty = n === 0 || nans === n;
  return {
    l2: jsonNumber(nans ? NaN : Math.sqrt(sumSq)),
    min: jsonNumber(empty ? NaN : min),
    max: jsonNumber(empty ? NaN : max),
    mean: jsonNumber(nans || n === 0 ? NaN : sum / n),
    zeroFraction: n ? zeros / n : 0,
    nanCount: nans,
    infCount: infs,
    histogram,
  };
}

/**
 * The names of a function's parameters, from its source text (`(params, x) => ...`,
 * `function loss(params, x) {`); null where a parameter is destructured or has a default, so
 * that paths fall back to `args[i]` rather than guess.
 */
export function parameterNames(fn: Function): (string | null)[] {
  let src: string;
  try {
    src = Function.prototype.toString.call(fn).slice(0, 4000);
  } catch {
    return [];
  }
  const single = /^\s*(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(src);
  if (single) return [single[1]];
  const open = src.indexOf("(");
  if (open < 0) return [];
  let depth = 0, end = -1;
  for (let i = open; i < src.length; i++) {
    const ch = src[i];
    if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") {
      if (--depth === 0) {
        end = i;
        break;
      }
    }
  }
  if (end < 0) return [];
  const parts: string[] = [];
  let cur = "";
  depth = 0;
  for (const ch of src.slice(open + 1, end)) {
    if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") depth--;
    if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (cur.trim()) parts.push(cur);
  return parts.map((p) => {
    const m = /^\s*([A-Za-z_$][\w$]*)\s*$/.exec(p.replace(/\/\*.*?\*\//g, ""));
    return m ? m[1] : null;
  });
}

const keyPath = (k: string): string => (/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`);

/**
 * The path of each leaf of the differentiated arguments (`inTree` is the list of them, one
 * entry per argnum), starting with the function's parameter name: `params[0].w`, `params.w1`.
 */
export function gradLeafPaths(fn: Function, inTree: PyTreeDef, argnums: readonly number[]): string[] {
  const names = parameterNames(fn);
  const out: string[] = [];
  const walk = (d: PyTreeDef, path: string): void => {
    switch (d._kind) {
      case "leaf": out.push(path); return;
      case "object": d._children.forEach((c, i) => walk(c, path + keyPath(d._keys[i]))); return;
      case "array":
      case "custom": d._children.forEach((c, i) => walk(c, `${path}[${i}]`)); return;
      default: return;
    }
  };
  inTree._children.forEach((c, k) => walk(c, names[argnums[k]] ?? `args[${argnums[k]}]`));
  return out;
}

interface GradEntry {
  id: number;
  fn: Function;
  kind: GradCall["kind"];
  name: string;
  where: LazySource;
  cell?: number;
  calls: number;
  last: GradCallInfo;
  history: GradHistoryPoint[];
  jaxpr: ClosedJaxpr;
  /** The latest call with concrete values, for the "check" action (held until the next call). */
  lastCall: GradCall | null;
}

const grads = new Map<Function, GradEntry>();
let nextGradId = 0;
let pendingReads = 0;
let lastRunId: string | undefined;

/**
 * Reads `x` on the host: now ("sync") when that does not wait for a device, else
 * asynchronously ("async": `done` then `after` run when the data arrives); otherwise says why
 * it is not read. `done` gets the data, or null and the reason.
 */
function readHost(x: NDArray, done: (data: ArrayLike<number> | null, why?: string) => void, after: () => void): "sync" | "async" | string {
  if (x instanceof Tracer) return "traced";
  if (x.size > INSPECT_LIMITS.statsElements) return `too large (${x.size} elements)`;
  if (x._disposed) return "disposed";
  if (x._hostReady()) {
    try {
      done(x.dataSync());
      return "sync";
    } catch (e) {
      return `not readable: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  if (pendingReads >= INSPECT_LIMITS.pendingReads) return "skipped: too many device reads pending";
  pendingReads++;
  x.data().then(
    (d) => done(d),
    (e) => done(null, `not readable: ${e instanceof Error ? e.message : String(e)}`),
  ).catch(() => {
    /* a failing statistic must not surface as the cell's unhandled rejection */
  }).finally(() => {
    pendingReads--;
    after();
  });
  return "async";
}

/** Records one grad/valueAndGrad call (the listener of onGradCall). */
export function recordGradCall(c: GradCall): void {
  const ctx = store.runContext();
  if (ctx) lastRunId = ctx.runId;
  let e = grads.get(c.fn);
  if (e) grads.delete(c.fn); // re-inserted last: the map is ordered by latest call
  const paths = gradLeafPaths(c.fn, c.inTree, c.argnums);
  const traced = c.origin === "traced" || c.value instanceof Tracer || c.grads.some((g) => g instanceof Tracer);
  const step = (e?.calls ?? 0) + 1;
  const call: GradCallInfo = { step, traced, origin: traced ? "traced" : c.origin, leaves: [] };
  if (ctx) call.runId = ctx.runId;
  const point: GradHistoryPoint = { step, norms: [] };
  const n = Math.min(c.grads.length, INSPECT_LIMITS.leaves);
  if (c.grads.length > n) call.leafCount = c.grads.length;
  let pending = 0;
  // The global norm only when every leaf has its statistics (no honest value otherwise).
  const settle = () => {
    if (pending > 0 || c.grads.length > n || call.leaves.some((l) => !l.stats)) return;
    const sq = call.leaves.reduce((a, l) => a + Number(l.stats!.l2) ** 2, 0);
    point.globalNorm = call.globalNorm = jsonNumber(Math.sqrt(sq));
  };
  for (let i = 0; i < n; i++) {
    const g = c.grads[i];
    const leaf: GradLeafInfo = { path: paths[i] ?? `leaf[${i}]`, shape: [...g.shape], dtype: g.dtype.name };
    call.leaves.push(leaf);
    point.norms.push(null);
    const how = readHost(g, (data, err) => {
      if (data) {
        leaf.stats = leafStats(data);
        delete leaf.missing;
        point.norms[i] = leaf.stats.l2;
      } else leaf.missing = err ?? "not readable";
    }, () => {
      pending--;
      settle();
    });
    if (how === "async") {
      pending++;
      leaf.missing = "pending device read";
    } else if (how !== "sync") leaf.missing = how;
  }
  settle();
  if (c.value.size === 1 && c.value.dtype.isFloat)
    readHost(c.value, (data) => {
      if (data) point.value = call.value = jsonNumber(+data[0]);
    }, () => {});
  if (!e) {
    e = { id: nextGradId++, fn: c.fn, kind: c.kind, name: c.fn.name || "<lambda>", where: captureSource(), calls: 0, last: call, history: [], jaxpr: c.jaxpr, lastCall: null };
  }
  // A jit-tapped call is announced when the compiled program returns, far from the user's
  // call: its location is the one the trace captured (the grad call inside the step).
  // A traced call (makeJaxpr of the step, vmap) has nothing to check: the latest concrete one stays.
  if (!traced) e.lastCall = c;
  e.kind = c.kind;
  e.where = c.origin === "jit" ? e.where : captureSource();
  e.cell = ctx?.cell;
  e.calls = step;
  e.last = call;
  e.jaxpr = c.jaxpr;
  e.history.push(point);
  if (e.history.length > INSPECT_LIMITS.history) e.history.splice(0, e.history.length - INSPECT_LIMITS.history);
  grads.set(c.fn, e);
  if (grads.size > INSPECT_LIMITS.gradFunctions) grads.delete(grads.keys().next().value as Function);
}

/** Answer of `inspect/gradientRecords`. */
export function gradientRecords(p: InspectRecordsParams = {}): GradientRecordsResult {
  // The map is ordered by latest call, newest last, as selectRecords expects (it walks from the end).
  const byCall = [...grads.values()];
  const picked = selectRecords(byCall, p, (e) => e.where()?.file ?? null);
  const records = picked.map((e): GradientRecord => {
    const r: GradientRecord = {
      id: e.id, kind: e.kind, name: e.name, source: sourceLine(e.where()), calls: e.calls,
      last: JSON.parse(JSON.stringify(e.last)) as GradCallInfo,
      history: e.history.map((h) => ({ ...h, norms: [...h.norms] })),
    };
    if (e.cell !== undefined) r.cell = e.cell;
    const ir = traceIdOf(e.jaxpr);
    if (ir !== undefined) r.irRecordId = ir;
    return r;
  });
  const out: GradientRecordsResult = { records, total: byCall.length };
  if (lastRunId !== undefined) out.lastRunId = lastRunId;
  return out;
}

/** Forgets the gradient records (tests). */
export function clearGradRecords(): void {
  grads.clear();
}

/**
 * Answer of `inspect/checkGrads`: the record's latest call, checked against finite differences:
 * JAX's checkGrads on the function and the call's inputs (pass/fail, its message), and leaf by
 * leaf, the gradient the call produced (eager, or returned by the compiled program) along a
 * random direction against the finite difference there.
 */
export function checkGradsRecord(p: CheckGradsParams): CheckGradsResult {
  const t0 = performance.now();
  const order = p.order ?? 1;
  const base = { recordId: p.recordId, order, eps: 0 };
  const done = (r: Omit<CheckGradsResult, "ms">): CheckGradsResult => ({ ...r, ms: performance.now() - t0 });
  const e = [...grads.values()].find((x) => x.id === p.recordId);
  if (!e) return done({ ...base, ok: false, message: `checkGrads: no gradient record ${p.recordId} (it was dropped, or the kernel restarted)` });
  const c = e.lastCall;
  if (!c) return done({ ...base, ok: false, message: "checkGrads: every call was traced (inside vmap or another transformation), so there are no concrete inputs to check" });
  if (c.grads.some((g) => g._disposed) || c.args.some((a) => a instanceof NDArray && a._disposed))
    return done({ ...base, ok: false, message: "checkGrads: the latest call's inputs or gradients were disposed" });
  // f of the differentiated arguments only, returning the scalar output.
  const f = (...diff: unknown[]) => {
    const full = [...c.args];
    c.argnums.forEach((a, k) => (full[a] = diff[k]));
    const out = (c.fn as (...a: unknown[]) => unknown)(...full);
    return c.hasAux ? (out as unknown[])[0] : out;
  };
  const diffArgs = c.argnums.map((a) => c.args[a]);
  // One step for both checks: checkGrads' own default for these arguments' dtypes.
  let eps = 1e-2;
  const paths = gradLeafPaths(c.fn, c.inTree, c.argnums);
  let leaves: CheckGradsLeaf[] | undefined;
  let message: string | undefined;
  let ok = true;
  try {
    eps = checkGradsEps(diffArgs);
    leaves = checkGradLeaves(f, diffArgs, c.grads, { eps }).slice(0, INSPECT_LIMITS.leaves).map((r, i) => ({
      path: paths[i] ?? `leaf[${i}]`, worst: jsonNumber(r.ratio), autodiff: jsonNumber(r.autodiff), numeric: jsonNumber(r.numeric), ok: r.ok,
    }));
    ok = leaves.every((l) => l.ok);
    checkGrads(f, diffArgs, order, { modes: p.modes ?? ["rev"], eps });
  } catch (err) {
    ok = false;
    message = err instanceof Error ? err.message : String(err);
  }
  const r: Omit<CheckGradsResult, "ms"> = { ...base, eps, ok };
  if (leaves) r.leaves = leaves;
  if (message) r.message = message;
  else if (!ok) r.message = "checkGrads: some gradient leaves disagree with finite differences (see the ratios)";
  return done(r);
}
