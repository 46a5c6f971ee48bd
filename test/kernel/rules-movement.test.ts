// The jvp, transpose and batching rules of the data-movement primitives (movement.ts and
// slicing.ts), each checked against an independent reference:
//  - jvp: the primal against a float64 host evaluator of the op, and the tangent against central
//    finite differences of that evaluator;
//  - transpose: the dot-product identity <ct, J t> = <J^T ct, t>, with J t from jvp and J^T ct
//    from vjp (exact up to float32 rounding);
//  - batching: vmap(f)(xs) against stacking f(xs[i]), for batch axes 0 and 1 and with some
//    arguments unbatched.

import { describe, expect, it } from "vitest";
import { NDArray, lax, np } from "../../kernel/index";
import { jvp, vjp } from "../../kernel/transforms/autodiff";
import { vmap } from "../../kernel/transforms/vmap";
import * as M from "../../kernel/primitives/movement";
import { float32, int32 } from "../../kernel/core/dtype";

// ---------------------------------------------------------------------------------------------
// Host arrays and a float64 reference evaluator, written from the ops' definitions.

interface H {
  shape: number[];
  data: Float64Array;
}
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const flat = (idx: readonly number[], shape: readonly number[]) => idx.reduce((acc, i, d) => acc * shape[d] + i, 0);
const get = (x: H, idx: readonly number[]) => x.data[flat(idx, x.shape)];
/** Builds an array of `shape` from a function of the multi-index. */
function tabulate(shape: readonly number[], f: (idx: number[]) => number): H {
  const data = new Float64Array(size(shape));
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < data.length; i++) {
    data[i] = f(idx);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return { shape: [...shape], data };
}
const clampStart = (s: number, n: number, k: number) => Math.min(Math.max(s, 0), n - k);

const ref = {
  reshape: (x: H, shape: number[]): H => ({ shape, data: x.data }),
  broadcastInDim: (x: H, shape: number[], bd: number[]): H => tabulate(shape, (i) => get(x, bd.map((d, k) => (x.shape[k] === 1 ? 0 : i[d])))),
  transpose: (x: H, perm: number[]): H =>
    tabulate(
      perm.map((a) => x.shape[a]),
      (i) => {
        const src: number[] = [];
        perm.forEach((a, k) => (src[a] = i[k]));
        return get(x, src);
      },
    ),
  squeeze: (x: H, dims: number[]): H => ({ shape: x.shape.filter((_, d) => !dims.includes(d)), data: x.data }),
  rev: (x: H, dims: number[]): H => tabulate(x.shape, (i) => get(x, i.map((v, d) => (dims.includes(d) ? x.shape[d] - 1 - v : v)))),
  slice: (x: H, start: number[], limit: number[], strides: number[] | null): H => {
    const st = strides ?? start.map(() => 1);
    return tabulate(
      start.map((s, d) => Math.ceil((limit[d] - s) / st[d])),
      (i) => get(x, i.map((v, d) => start[d] + v * st[d])),
    );
  },
  pad: (x: H, v: H, cfg: [number, number, number][]): H => {
    const shape = x.shape.map((n, d) => cfg[d][0] + cfg[d][1] + n + Math.max(0, n - 1) * cfg[d][2]);
    return tabulate(shape, (i) => {
      const src: number[] = [];
      for (let d = 0; d < i.length; d++) {
        const t = i[d] - cfg[d][0];
        const step = cfg[d][2] + 1;
        if (t < 0 || t % step !== 0 || t / step >= x.shape[d]) return v.data[0];
        src.push(t / step);
      }
      return get(x, src);
    });
  },
  concatenate: (xs: H[], dim: number): H => {
    const shape = [...xs[0].shape];
    shape[dim] = xs.reduce((a, x) => a + x.shape[dim], 0);
    return tabulate(shape, (i) => {
      let k = i[dim];
      for (const x of xs) {
        if (k < x.shape[dim]) return get(x, i.map((v, d) => (d === dim ? k : v)));
        k -= x.shape[dim];
      }
      throw new Error("unreachable");
    });
  },
  dynamicSlice: (x: H, starts: number[], sizes: number[]): H => {
    const s = starts.map((v, d) => clampStart(v, x.shape[d], sizes[d]));
    return tabulate(sizes, (i) => get(x, i.map((v, d) => s[d] + v)));
  },
  dynamicUpdateSlice: (x: H, u: H, starts: number[]): H => {
    const s = starts.map((v, d) => clampStart(v, x.shape[d], u.shape[d]));
    return tabulate(x.shape, (i) => {
      const k = i.map((v, d) => v - s[d]);
      return k.every((v, d) => v >= 0 && v < u.shape[d]) ? get(u, k) : get(x, i);
    });
  },
};

// ---------------------------------------------------------------------------------------------
// Conversions and random data.

const toHost = (x: NDArray): H => ({ shape: [...x.shape], data: Float64Array.from(x.dataSync() as ArrayLike<number>) });
function fromHost(h: H, dtype: "f" | "i"): NDArray {
  const flatArr = np.asarray(dtype === "f" ? Float32Array.from(h.data) : Int32Array.from(h.data));
  return np.reshape(flatArr, h.shape);
}
let seed = 12345;
/** A deterministic uniform in [0, 1). */
function rand(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32;
}
/** Random float32-representable values in [-2, 2). */
const randomH = (shape: readonly number[]): H => tabulate(shape, () => Math.fround(rand() * 4 - 2));
const randomInt = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const axpy = (a: number, x: H, y: H): H => ({ shape: y.shape, data: y.data.map((v, i) => v + a * x.data[i]) });
const dot = (a: H, b: H) => a.data.reduce((acc, v, i) => acc + v * b.data[i], 0);
const absDot = (a: H, b: H) => a.data.reduce((acc, v, i) => acc + Math.abs(v * b.data[i]), 0);
const maxAbs = (a: H) => a.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** Takes example i along `axis` of a batched host array. */
function takeExample(x: H, axis: number, i: number): H {
  const shape = x.shape.filter((_, d) => d !== axis);
  return tabulate(shape, (idx) => get(x, [...idx.slice(0, axis), i, ...idx.slice(axis)]));
}
/** Stacks host arrays along a new leading axis. */
const stack = (xs: H[]): H => ({ shape: [xs.length, ...xs[0].shape], data: Float64Array.from(xs.flatMap((x) => [...x.data])) });

// ---------------------------------------------------------------------------------------------
// Cases: a library function of some arguments and its host reference.

/** A float argument (differentiated unless `diff` is false), or an integer start index. */
type Arg = { kind: "f"; shape: number[]; diff?: boolean } | { kind: "i"; value: number; range: [number, number] };
interface Case {
  name: string;
  args: Arg[];
  f: (...xs: NDArray[]) => NDArray;
  ref: (...xs: H[]) => H;
}
const F = (...shape: number[]): Arg => ({ kind: "f", shape });
const Fconst = (...shape: number[]): Arg => ({ kind: "f", shape, diff: false });
/** A start index (scalar int32) of `value`; batched examples draw from `range` (clamping included). */
const I = (value: number, range: [number, number]): Arg => ({ kind: "i", value, range });
const ints = (hs: H[]) => hs.map((h) => h.data[0]);

const cases: Case[] = [
  { name: "reshape [2,3,4] -> [4,6]", args: [F(2, 3, 4)], f: (x) => lax.reshape(x, [4, 6]), ref: (x) => ref.reshape(x, [4, 6]) },
  { name: "reshape [1,3] -> [3]", args: [F(1, 3)], f: (x) => lax.reshape(x, [3]), ref: (x) => ref.reshape(x, [3]) },
  { name: "broadcast_in_dim [3,1] -> [2,3,4]", args: [F(3, 1)], f: (x) => lax.broadcastInDim(x, [2, 3, 4], [1, 2]), ref: (x) => ref.broadcastInDim(x, [2, 3, 4], [1, 2]) },
  { name: "broadcast_in_dim [] -> [2,3]", args: [F()], f: (x) => lax.broadcastInDim(x, [2, 3], []), ref: (x) => ref.broadcastInDim(x, [2, 3], []) },
  { name: "broadcast_in_dim [3,1] -> [3,1,2] (kept unit axis)", args: [F(3, 1)], f: (x) => lax.broadcastInDim(x, [3, 1, 2], [0, 1]), ref: (x) => ref.broadcastInDim(x, [3, 1, 2], [0, 1]) },
  { name: "transpose [2,3,4] perm [2,0,1]", args: [F(2, 3, 4)], f: (x) => lax.transpose(x, [2, 0, 1]), ref: (x) => ref.transpose(x, [2, 0, 1]) },
  { name: "squeeze [2,1,3,1] dims [1,3]", args: [F(2, 1, 3, 1)], f: (x) => lax.squeeze(x, [1, 3]), ref: (x) => ref.squeeze(x, [1, 3]) },
  { name: "squeeze [1] -> []", args: [F(1)], f: (x) => lax.squeeze(x, [0]), ref: (x) => ref.squeeze(x, [0]) },
  { name: "rev [2,3,4] dims [0,2]", args: [F(2, 3, 4)], f: (x) => lax.rev(x, [0, 2]), ref: (x) => ref.rev(x, [0, 2]) },
  { name: "slice [5,6] unit strides", args: [F(5, 6)], f: (x) => lax.slice(x, [1, 0], [4, 6]), ref: (x) => ref.slice(x, [1, 0], [4, 6], null) },
  { name: "slice [7,8] strides [2,3]", args: [F(7, 8)], f: (x) => lax.slice(x, [1, 2], [7, 8], [2, 3]), ref: (x) => ref.slice(x, [1, 2], [7, 8], [2, 3]) },
  { name: "slice [4,5] empty along axis 0", args: [F(4, 5)], f: (x) => lax.slice(x, [1, 1], [1, 4], [2, 1]), ref: (x) => ref.slice(x, [1, 1], [1, 4], [2, 1]) },
  {
    name: "pad [3,4] low/high/interior",
    args: [F(3, 4), F()],
    f: (x, v) => lax.pad(x, v, [[1, 2, 0], [0, 1, 2]]),
    ref: (x, v) => ref.pad(x, v, [[1, 2, 0], [0, 1, 2]]),
  },
  {
    name: "pad [3,5] negative (cropping) and interior",
    args: [F(3, 5), F()],
    f: (x, v) => lax.pad(x, v, [[-1, 2, 1], [2, -3, 0]]),
    ref: (x, v) => ref.pad(x, v, [[-1, 2, 1], [2, -3, 0]]),
  },
  {
    name: "pad [2,3] with a constant padding value",
    args: [F(2, 3), Fconst()],
    f: (x, v) => lax.pad(x, v, [[1, 1, 1], [2, 0, 0]]),
    ref: (x, v) => ref.pad(x, v, [[1, 1, 1], [2, 0, 0]]),
  },
  {
    name: "pad [2,3], only the padding value differentiated",
    args: [Fconst(2, 3), F()],
    f: (x, v) => lax.pad(x, v, [[0, 2, 1], [1, 1, 0]]),
    ref: (x, v) => ref.pad(x, v, [[0, 2, 1], [1, 1, 0]]),
  },
  {
    name: "concatenate three along axis 0",
    args: [F(2, 3), F(4, 3), F(1, 3)],
    f: (a, b, c) => lax.concatenate([a, b, c], 0),
    ref: (a, b, c) => ref.concatenate([a, b, c], 0),
  },
  {
    name: "concatenate along axis 1, one operand constant",
    args: [F(2, 3), Fconst(2, 1), F(2, 2)],
    f: (a, b, c) => lax.concatenate([a, b, c], 1),
    ref: (a, b, c) => ref.concatenate([a, b, c], 1),
  },
  {
    name: "dynamic_slice [5,6] sizes [2,3]",
    args: [F(5, 6), I(1, [-1, 5]), I(2, [-2, 6])],
    f: (x, i, j) => lax.dynamicSlice(x, [i, j], [2, 3]),
    ref: (x, ...s) => ref.dynamicSlice(x, ints(s), [2, 3]),
  },
  {
    name: "dynamic_slice [5,6] clamped starts",
    args: [F(5, 6), I(4, [-1, 5]), I(-1, [-2, 6])],
    f: (x, i, j) => lax.dynamicSlice(x, [i, j], [3, 2]),
    ref: (x, ...s) => ref.dynamicSlice(x, ints(s), [3, 2]),
  },
  {
    name: "dynamic_slice [3,4,2] sizes [1,2,2]",
    args: [F(3, 4, 2), I(2, [0, 3]), I(1, [0, 3]), I(0, [-1, 1])],
    f: (x, i, j, k) => lax.dynamicSlice(x, [i, j, k], [1, 2, 2]),
    ref: (x, ...s) => ref.dynamicSlice(x, ints(s), [1, 2, 2]),
  },
  {
    name: "dynamic_update_slice [5,6] update [2,3]",
    args: [F(5, 6), F(2, 3), I(1, [-1, 5]), I(2, [-1, 6])],
    f: (x, u, i, j) => lax.dynamicUpdateSlice(x, u, [i, j]),
    ref: (x, u, ...s) => ref.dynamicUpdateSlice(x, u, ints(s)),
  },
  {
    name: "dynamic_update_slice [4,5] clamped starts",
    args: [F(4, 5), F(3, 2), I(3, [-1, 5]), I(-2, [-2, 6])],
    f: (x, u, i, j) => lax.dynamicUpdateSlice(x, u, [i, j]),
    ref: (x, u, ...s) => ref.dynamicUpdateSlice(x, u, ints(s)),
  },
  {
    name: "dynamic_update_slice, constant update",
    args: [F(4, 3), Fconst(2, 3), I(1, [0, 3]), I(0, [-1, 1])],
    f: (x, u, i, j) => lax.dynamicUpdateSlice(x, u, [i, j]),
    ref: (x, u, ...s) => ref.dynamicUpdateSlice(x, u, ints(s)),
  },
  {
    name: "dynamic_update_slice, constant operand",
    args: [Fconst(4, 3), F(2, 2), I(2, [0, 3]), I(1, [-1, 2])],
    f: (x, u, i, j) => lax.dynamicUpdateSlice(x, u, [i, j]),
    ref: (x, u, ...s) => ref.dynamicUpdateSlice(x, u, ints(s)),
  },
];

/** Host values of a case's arguments (start indices at their given values). */
const hostArgs = (c: Case): H[] => c.args.map((a) => (a.kind === "f" ? randomH(a.shape) : { shape: [], data: Float64Array.of(a.value) }));
const libArgs = (c: Case, hs: H[]): NDArray[] => hs.map((h, i) => fromHost(h, c.args[i].kind));
const isDiff = (a: Arg) => a.kind === "f" && a.diff !== false;

/** The case's function of its differentiated arguments only (the others are closed over). */
function diffFn(c: Case, all: NDArray[]): { fn: (...xs: NDArray[]) => NDArray; primals: NDArray[]; which: number[] } {
  const which = c.args.map((a, i) => (isDiff(a) ? i : -1)).filter((i) => i >= 0);
  const fn = (...xs: NDArray[]) => {
    const full = [...all];
    which.forEach((k, j) => (full[k] = xs[j]));
    return c.f(...full);
  };
  return { fn, primals: which.map((k) => all[k]), which };
}

function expectClose(got: H, want: H, tol: number): void {
  expect(got.shape).toEqual(want.shape);
  let worst = 0;
  got.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - want.data[i]))));
  expect(worst).toBeLessThanOrEqual(tol);
}

describe("movement rules: jvp against finite differences of a float64 reference", () => {
  for (const c of cases) {
    it(c.name, () => {
      const hs = hostArgs(c);
      const { fn, primals, which } = diffFn(c, libArgs(c, hs));
      const th = which.map((k) => randomH(hs[k].shape));
      const [y, ty] = jvp(fn, primals, th.map((t) => fromHost(t, "f")));
      // The primal is a pure data movement: exact.
      expect(toHost(y)).toEqual(c.ref(...hs));
      // Central differences along t in float64 (the reference is exactly linear in the floats).
      const eps = 1e-3;
      const shifted = (sgn: number) => c.ref(...hs.map((h, i) => (which.includes(i) ? axpy(sgn * eps, th[which.indexOf(i)], h) : h)));
      const plus = shifted(1);
      const minus = shifted(-1);
      const fd: H = { shape: plus.shape, data: plus.data.map((v, i) => (v - minus.data[i]) / (2 * eps)) };
      expectClose(toHost(ty), fd, 1e-9 * (1 + maxAbs(fd)));
    });
  }
});

describe("movement rules: transpose by the dot-product test <ct, J t> = <J^T ct, t>", () => {
  for (const c of cases) {
    it(c.name, () => {
      const hs = hostArgs(c);
      const { fn, primals, which } = diffFn(c, libArgs(c, hs));
      const th = which.map((k) => randomH(hs[k].shape));
      const [, ty] = jvp(fn, primals, th.map((t) => fromHost(t, "f")));
      const [y, pullback] = vjp(fn, ...primals);
      const ct = randomH(y.shape);
      const cts = pullback(fromHost(ct, "f")) as NDArray[];
      expect(cts.length).toBe(which.length);
      cts.forEach((g, j) => expect(g.shape).toEqual(hs[which[j]].shape));
      const lhs = dot(ct, toHost(ty));
      const rhs = cts.reduce((acc, g, j) => acc + dot(toHost(g), th[j]), 0);
      const scale = absDot(ct, toHost(ty)) + cts.reduce((acc, g, j) => acc + absDot(toHost(g), th[j]), 0);
      expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-6 * (1 + scale));
    });
  }
});

/** The batching configurations of a case: all at 0, all at 1 (rank permitting), each argument alone (at 0, 1 and last), one mixed. */
function batchConfigs(c: Case): (number | null)[][] {
  const rank = (a: Arg) => (a.kind === "f" ? a.shape.length : 0);
  const configs: (number | null)[][] = [c.args.map(() => 0), c.args.map((a) => (rank(a) >= 1 ? 1 : 0))];
  c.args.forEach((a, i) => {
    for (const ax of new Set([0, Math.min(1, rank(a)), rank(a)])) configs.push(c.args.map((_, k) => (k === i ? ax : null)));
  });
  // Mixed: the first argument at its last axis, the rest alternating 0 / unbatched.
  if (c.args.length > 1) configs.push(c.args.map((a, k) => (k === 0 ? rank(a) : k % 2 ? 0 : null)));
  const seen = new Set<string>();
  return configs.filter((cfg) => {
    const key = JSON.stringify(cfg);
    return !seen.has(key) && (seen.add(key), true);
  });
}

describe("movement rules: vmap against a loop", () => {
  const B = 3;
  for (const c of cases) {
    for (const axes of batchConfigs(c)) {
      it(`${c.name}, inAxes ${JSON.stringify(axes)}`, () => {
        // Batched host arguments: the batch axis inserted at its position; ints drawn from their range.
        const args = c.args.map((a, i) => {
          const ax = axes[i];
          if (a.kind === "i") return ax === null ? { shape: [], data: Float64Array.of(a.value) } : tabulate([B], () => randomInt(...a.range));
          if (ax === null) return randomH(a.shape);
          const shape = [...a.shape];
          shape.splice(ax, 0, B);
          return randomH(shape);
        });
        const batched = vmap(c.f, { inAxes: axes })(...libArgs(c, args)) as NDArray;
        const loop: H[] = [];
        for (let b = 0; b < B; b++) {
          const ex = args.map((h, i) => (axes[i] === null ? h : takeExample(h, axes[i]!, b)));
          loop.push(toHost(c.f(...libArgs(c, ex))));
        }
        expect(toHost(batched)).toEqual(stack(loop));
      });
    }
  }
});

describe("iota and bitcast_convert_type", () => {
  it("iota has a trivial jvp (no inputs) and an unbatched batching result", () => {
    const params = { dtype: float32, shape: [2, 3], dimension: 1, sharding: null };
    const [outs, tangents] = M.iota.jvp!([], [], params);
    expect(outs[0].tolist()).toEqual([[0, 1, 2], [0, 1, 2]]);
    expect(tangents).toEqual([null]);
    const [bouts, bdims] = M.iota.batch!([], [], params, 4);
    expect(bouts[0].tolist()).toEqual([[0, 1, 2], [0, 1, 2]]);
    expect(bdims).toEqual([null]);
  });
  it("iota inside jvp and vmap is a constant", () => {
    const f = (x: NDArray) => lax.mul(x, lax.broadcastedIota("float32", [3], 0));
    const [, t] = jvp(f, [np.asarray([1, 2, 3], { dtype: "float32" })], [np.asarray([1, 1, 1], { dtype: "float32" })]);
    expect(t.tolist()).toEqual([0, 1, 2]);
    const v = vmap(f)(np.asarray([[1, 1, 1], [2, 2, 2]], { dtype: "float32" })) as NDArray;
    expect(v.tolist()).toEqual([[0, 1, 2], [0, 2, 4]]);
  });
  it("bitcast_convert_type has no tangent", () => {
    const x = np.asarray([1.5, -2, 0.25], { dtype: "float32" });
    const [y, t] = jvp((a: NDArray) => lax.bitcastConvertType(a, "int32"), [x], [np.onesLike(x)]);
    expect(y.dtype).toBe(int32);
    expect(t.dtype).toBe(int32);
    expect(t.tolist()).toEqual([0, 0, 0]);
    // Through a float round trip the derivative is zero too: d(a * bitcast(bitcast(a))) = bitcast(bitcast(a)) da.
    const [, pullback] = vjp((a: NDArray) => lax.mul(a, lax.bitcastConvertType(lax.bitcastConvertType(a, "int32"), "float32")), x);
    expect((pullback(np.onesLike(x))[0] as NDArray).tolist()).toEqual([1.5, -2, 0.25]);
  });
  for (const axis of [0, 1]) {
    it(`bitcast_convert_type under vmap, axis ${axis}`, () => {
      const h = randomH(axis === 0 ? [3, 4] : [4, 3]);
      const x = fromHost(h, "f");
      const f = (a: NDArray) => lax.bitcastConvertType(a, "int32");
      const batched = vmap(f, { inAxes: axis })(x) as NDArray;
      const loop = [0, 1, 2].map((b) => toHost(f(fromHost(takeExample(h, axis, b), "f"))));
      expect(toHost(batched)).toEqual(stack(loop));
    });
  }
});

describe("movement rules composed", () => {
  // A chain of movement ops: the forward Jacobian (vmap of the jvp rules) and the reverse one (vmap
  // of the transposed rules) must agree.
  const chain = (x: NDArray) => {
    // x [3,3] -> y [6,3] -> p [12,5] -> s [6,3] -> d [2,2] -> out [18]
    const y = lax.concatenate([lax.rev(x, [1]), lax.transpose(x, [1, 0])], 0);
    const p = lax.pad(y, 0.5, [[1, 0, 1], [0, 2, 0]]);
    const s = lax.slice(p, [1, 0], [12, 5], [2, 2]);
    const d = lax.dynamicSlice(s, [1, 0], [2, 2]);
    return lax.reshape(lax.dynamicUpdateSlice(s, lax.mul(d, d), [0, 1]), [s.size]);
  };
  it("forward and reverse Jacobians agree (vmap of jvp, vmap of vjp)", () => {
    const xh = randomH([3, 3]);
    const x = fromHost(xh, "f");
    const n = 9;
    const m = chain(x).size;
    const basis = (k: number, shape: number[]) => fromHost(tabulate([k, ...shape], (i) => +(flat(i.slice(1), shape) === i[0])), "f");
    // fwd[i, o] = d out[o] / d x[i]; rev[o, i] the same entry.
    const fwd = toHost(vmap((t: NDArray) => jvp(chain, [x], [t])[1])(basis(n, [3, 3])) as NDArray);
    const [, pullback] = vjp(chain, x);
    const rev = toHost(vmap((ct: NDArray) => pullback(ct)[0])(basis(m, [m])) as NDArray);
    expect(fwd.shape).toEqual([n, m]);
    expect(rev.shape).toEqual([m, 3, 3]);
    expectClose(ref.transpose({ shape: [n, m], data: fwd.data }, [1, 0]), { shape: [m, n], data: rev.data }, 1e-6);
  });
  it("vmap of vjp with per-example start indices (batched transposes: a scatter)", () => {
    // The pullback of dynamic_slice is a dynamic_update_slice at the example's own start.
    const g = (x: NDArray, i: NDArray, ct: NDArray) => {
      const [, pullback] = vjp((a: NDArray) => {
        const d = lax.dynamicSlice(a, [i, 1], [2, 2]);
        return lax.mul(d, d);
      }, x);
      return pullback(ct)[0] as NDArray;
    };
    const xs = randomH([4, 5, 4]);
    const is = tabulate([4], (k) => [0, 3, -1, 4][k[0]]);
    const cts = randomH([4, 2, 2]);
    const batched = toHost(vmap(g)(fromHost(xs, "f"), fromHost(is, "i"), fromHost(cts, "f")) as NDArray);
    const loop = [0, 1, 2, 3].map((b) => toHost(g(fromHost(takeExample(xs, 0, b), "f"), fromHost(takeExample(is, 0, b), "i"), fromHost(takeExample(cts, 0, b), "f"))));
    expectClose(batched, stack(loop), 1e-6);
  });
});
