// pmap over 4 logical CPU devices (PRIMAL_CPU_DEVICES=4, read when the CPU backend loads, so it
// is set in vi.hoisted before the kernel is imported): elementwise programs and matmuls against
// the unsharded computation; every collective against its definition recomputed on the host in
// float64; the gradient of a data-parallel MLP step (per-device gradients, pmean) against the
// single-device gradient of the mean loss, both as pmap(grad) and as grad(pmap); jvp, vmap and jit
// around pmap; where shards run (a spy on the backend's execute); the printed xla_pmap
// equation; JAX's errors for too few devices and unbound axis names.

import { afterEach, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.PRIMAL_CPU_DEVICES = "4";
});

import { NDArray, devicePut, devices, grad, jit, jvp, lax, makeJaxpr, np, pmap, vmap } from "../../kernel/index";
import { NameError, NotAvailableError, ValueError } from "../../kernel/core/errors";
import { withConfig } from "../../kernel/core/config";
import { deviceThreadStats } from "../../kernel/backends/cpu/device-threads";
import { at, build, expectClose, randArrays, vals } from "./helpers/host-arrays";

type Fn = (...args: any[]) => any;
const D = 4;
const randArray = randArrays(4321);
const pm = (f: Fn, opts: Record<string, unknown> = {}) => pmap(f, { axisName: "i", ...opts });

/** Records the device each backend primitive runs on (the CPU backend's execute). */
function spyDevices(): { calls: { prim: string; device: string }[]; restore: () => void } {
  const backend = devices()[0].backend;
  const calls: { prim: string; device: string }[] = [];
  const original = backend.execute.bind(backend);
  const spy = vi.spyOn(backend, "execute").mockImplementation((prim, inputs, params, outAvals, device) => {
    calls.push({ prim: prim.name, device: String(device) });
    return original(prim, inputs, params, outAvals, device);
  });
  return { calls, restore: () => spy.mockRestore() };
}

afterEach(() => vi.restoreAllMocks());

describe("devices", () => {
  it("PRIMAL_CPU_DEVICES=4 gives four CPU devices", () => {
    expect(devices().map(String)).toEqual(["cpu:0", "cpu:1", "cpu:2", "cpu:3"]);
  });
});

describe("pmap against the unsharded computation", () => {
  it("elementwise, with inAxes and outAxes other than 0", () => {
    const [x, xs] = randArray([D, 5]);
    const f = (v: NDArray) => np.sin(v).mul(2).add(v.mul(v));
    expectClose(pmap(f)(x), vals(f(x)));
    expectClose(pmap(f)(x), xs.map((a) => 2 * Math.sin(a) + a * a), 1e-5);
    // Mapped along axis 1, stacked along axis 1: the same as the whole array.
    expectClose(pmap(f, { inAxes: 1, outAxes: 1 })(x.T), vals(f(x.T)));
    // Stacked along axis 1 instead of 0: the transpose.
    expectClose(pmap(f, { outAxes: 1 })(x), vals(f(x).T));
  });

  it("matmuls: sharded activations, replicated weights", () => {
    const [a, as] = randArray([D, 6, 5]);
    const [w, ws] = randArray([5, 7]);
    const out = pmap((x: NDArray, m: NDArray) => np.matmul(x, m), { inAxes: [0, null] })(a, w);
    expect(out.shape).toEqual([D, 6, 7]);
    expectClose(out, vals(np.matmul(a, w)));
    expectClose(out, build([D, 6, 7], ([d, r, c]) => [0, 1, 2, 3, 4].reduce((s, k) => s + at(as, [D, 6, 5], [d, r, k]) * ws[k * 7 + c], 0)), 1e-5);
  });

  it("pytrees in and out, unmapped outputs (outAxes null) and static broadcasted arguments", () => {
    const [x, xs] = randArray([D, 3]);
    const f = (p: { a: NDArray; b: NDArray[] }, scale: number) => ({ s: p.a.mul(scale), t: [lax.psum(p.b[0], "i")] });
    const out = pm(f, { staticBroadcastedArgnums: 1, outAxes: { s: 0, t: null } })({ a: x, b: [x] }, 3);
    expectClose(out.s, xs.map((v) => 3 * v));
    expectClose(out.t[0], build([3], ([k]) => [0, 1, 2, 3].reduce((s, i) => s + xs[i * 3 + k], 0)));
  });
});

describe("collectives inside pmap, against their definitions", () => {
  const F = 3;
  const [x, xs] = randArray([D, F]);
  const col = (k: number) => Array.from({ length: D }, (_, i) => xs[i * F + k]);
  const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);

  it("psum, pmean, pmax, pmin", () => {
    expectClose(pm((v: NDArray) => lax.psum(v, "i"))(x), build([D, F], ([, k]) => sum(col(k))));
    expectClose(pm((v: NDArray) => lax.pmean(v, "i"))(x), build([D, F], ([, k]) => sum(col(k)) / D));
    expectClose(pm((v: NDArray) => lax.pmax(v, "i"))(x), build([D, F], ([, k]) => Math.max(...col(k))));
    expectClose(pm((v: NDArray) => lax.pmin(v, "i"))(x), build([D, F], ([, k]) => Math.min(...col(k))));
  });

  it("allGather, stacked and tiled", () => {
    expectClose(pm((v: NDArray) => lax.allGather(v, "i"))(x), build([D, D, F], ([, j, k]) => xs[j * F + k]));
    expectClose(pm((v: NDArray) => lax.allGather(v, "i", { axis: 1 }))(x), build([D, F, D], ([, k, j]) => xs[j * F + k]));
    expectClose(pm((v: NDArray) => lax.allGather(v, "i", { tiled: true }))(x), build([D, D * F], ([, m]) => xs[m]));
  });

  it("ppermute: a ring shift, and a partial permutation (zeros where nothing is sent)", () => {
    const ring: [number, number][] = [[0, 1], [1, 2], [2, 3], [3, 0]];
    expectClose(pm((v: NDArray) => lax.ppermute(v, "i", ring))(x), build([D, F], ([i, k]) => xs[((i + D - 1) % D) * F + k]));
    const src = [2, -1, -1, 0];
    expectClose(pm((v: NDArray) => lax.ppermute(v, "i", [[2, 0], [0, 3]]))(x), build([D, F], ([i, k]) => (src[i] < 0 ? 0 : xs[src[i] * F + k])));
  });

  it("psumScatter, untiled and tiled", () => {
    const [y, ys] = randArray([D, D, 2]);
    const S = (j: number, k: number) => sum(Array.from({ length: D }, (_, i) => at(ys, [D, D, 2], [i, j, k])));
    expectClose(pm((v: NDArray) => lax.psumScatter(v, "i"))(y), build([D, 2], ([i, k]) => S(i, k)));
    expectClose(pm((v: NDArray) => lax.psumScatter(v.reshape([2 * D]), "i", { tiled: true }))(y), build([D, 2], ([i, m]) => S(i, m)));
  });

  it("axisIndex: shard i gets i", () => {
    const idx = pm((v: NDArray) => lax.axisIndex("i").add(v.sum().mul(0)))(x);
    expect(idx.dtype.name).toBe("float32");
    expect(vals(idx)).toEqual([0, 1, 2, 3]);
    expect(vals(pm(() => lax.axisIndex("i"), { axisSize: D })())).toEqual([0, 1, 2, 3]);
  });

  it("collectives inside a jit inside the pmap body (inlined into the lockstep)", () => {
    const body = jit((v: NDArray) => lax.psum(v.mul(2), "i").add(lax.axisIndex("i")));
    expectClose(pm(body)(x), build([D, F], ([i, k]) => 2 * sum(col(k)) + i));
  });
});

describe("axisIndexGroups", () => {
  const F = 3;
  const [x, xs] = randArray([D, F]);
  const X = (i: number, k: number) => xs[i * F + k];
  // Groups {0, 2} and {3, 1}: a shard's group, and its position in it (the order allGather stacks in).
  const groups = [
    [0, 2],
    [3, 1],
  ];
  const groupOf = (i: number) => groups.find((g) => g.includes(i))!;

  it("psum, pmean, pmax and pmin within each group", () => {
    const over = (i: number, k: number, f: (v: number[]) => number) => f(groupOf(i).map((j) => X(j, k)));
    const total = (v: number[]) => v.reduce((a, b) => a + b, 0);
    expectClose(pm((v: NDArray) => lax.psum(v, "i", { axisIndexGroups: groups }))(x), build([D, F], ([i, k]) => over(i, k, total)));
    expectClose(pm((v: NDArray) => lax.pmean(v, "i", { axisIndexGroups: groups }))(x), build([D, F], ([i, k]) => over(i, k, total) / 2));
    expectClose(pm((v: NDArray) => lax.pmax(v, "i", { axisIndexGroups: groups }))(x), build([D, F], ([i, k]) => over(i, k, (v) => Math.max(...v))));
    expectClose(pm((v: NDArray) => lax.pmin(v, "i", { axisIndexGroups: groups }))(x), build([D, F], ([i, k]) => over(i, k, (v) => Math.min(...v))));
  });

  it("allGather stacks in the group's order; psumScatter keeps the shard's block of its group's sum", () => {
    const g = pm((v: NDArray) => lax.allGather(v, "i", { axisIndexGroups: groups }))(x);
    expect(g.shape).toEqual([D, 2, F]);
    expectClose(g, build([D, 2, F], ([i, p, k]) => X(groupOf(i)[p], k)));
    const [y, ys] = randArray([D, 2, F]);
    const Y = (i: number, b: number, k: number) => ys[(i * 2 + b) * F + k];
    const s = pm((v: NDArray) => lax.psumScatter(v, "i", { axisIndexGroups: groups }))(y);
    expect(s.shape).toEqual([D, F]);
    expectClose(s, build([D, F], ([i, k]) => groupOf(i).reduce((a, j) => a + Y(j, groupOf(i).indexOf(i), k), 0)));
  });

  it("grad through a grouped psum: d/dx[i] of sum(psum_g(x) * w) = sum over i's group of w", () => {
    const [w, ws] = randArray([D, F]);
    const loss = (v: NDArray) => np.sum(pm((a: NDArray, b: NDArray) => lax.psum(a, "i", { axisIndexGroups: groups }).mul(b))(v, w) as NDArray);
    expectClose(grad(loss)(x), build([D, F], ([i, k]) => groupOf(i).reduce((a, j) => a + ws[j * F + k], 0)));
  });

  it("bad groups are clear errors", () => {
    expect(() => pm((v: NDArray) => lax.psum(v, "i", { axisIndexGroups: [[0, 1], [2]] }))(x)).toThrow(/psum: axisIndexGroups must cover every index of axis 'i' \(size 4\) exactly once, got \[\[0,1\],\[2\]\]/);
    expect(() => pm((v: NDArray) => lax.psum(v, "i", { axisIndexGroups: [[0, 1, 2], [3]] }))(x)).toThrow(/psum: axisIndexGroups must all be the same size/);
    expect(() => pm((v: NDArray) => lax.psum(v, "i", { axisIndexGroups: [[0, 1], [2, 9]] }))(x)).toThrow(/must cover every index/);
    expect(() => pm((v: NDArray) => lax.psum(v, "i", { axisIndexGroups: "x" as unknown as number[][] }))(x)).toThrow(/psum: axisIndexGroups must be a non-empty list/);
  });

  it("the staged equation prints JAX's axis_index_groups", () => {
    const text = String(makeJaxpr(pm((v: NDArray) => lax.psum(v, "i", { axisIndexGroups: groups })))(x));
    expect(text).toContain("psum[axes=('i',) axis_index_groups=((0, 2), (3, 1))]");
  });
});

describe("nested pmap", () => {
  it("an inner pmap with its own axis inside an outer one (2 x 2)", () => {
    const [x, xs] = randArray([2, 2, 3]);
    const out = pmap(pmap((v: NDArray) => lax.psum(v, "j"), { axisName: "j" }), { axisName: "i" })(x);
    expectClose(out, build([2, 2, 3], ([i, , k]) => at(xs, [2, 2, 3], [i, 0, k]) + at(xs, [2, 2, 3], [i, 1, k])));
    // A mesh: outer shard i's inner shards run on devices 2i and 2i + 1.
    const backend = devices()[0].backend as any;
    const seen: string[][] = [];
    const original = backend.runShardPrograms.bind(backend);
    const spy = vi.spyOn(backend, "runShardPrograms").mockImplementation((program: any, name: any, inputs: any, devs: any) => {
      seen.push(devs.map(String));
      return original(program, name, inputs, devs);
    });
    const meshOut = pmap(pmap((v: NDArray) => np.exp(v), { axisName: "j" }), { axisName: "i" })(x);
    spy.mockRestore();
    expect(seen).toEqual([
      ["cpu:0", "cpu:1"],
      ["cpu:2", "cpu:3"],
    ]);
    expectClose(meshOut, xs.map(Math.exp));
    // A collective over the outer axis inside the inner pmap: test/kernel/pmap-control-flow.test.ts.
  });
});

describe("shards run on their devices", () => {
  /** Records the programs the backend runs on every device's thread (runShardPrograms). */
  function spyPrograms(): { calls: { devices: string[]; text: string }[]; restore: () => void } {
    const backend = devices()[0].backend as any;
    const calls: { devices: string[]; text: string }[] = [];
    const original = backend.runShardPrograms.bind(backend);
    const spy = vi.spyOn(backend, "runShardPrograms").mockImplementation((program: any, name: any, inputs: any, devs: any) => {
      calls.push({ devices: devs.map(String), text: String(program) });
      return original(program, name, inputs, devs);
    });
    return { calls, restore: () => spy.mockRestore() };
  }

  it("each device runs the programs between the collectives on its own thread; the output's shards stay there", () => {
    const [x, xs] = randArray([D, 3]);
    const { calls, restore } = spyPrograms();
    const out = pm((v: NDArray) => lax.psum(np.sin(v), "i").mul(v))(x);
    restore();
    // Two programs (before and after the psum), each on all four devices.
    expect(calls.map((c) => c.devices)).toEqual([devices().map(String), devices().map(String)]);
    expect(calls[0].text).toMatch(/sin/);
    expect(calls[1].text).toMatch(/mul/);
    expect(calls[1].text).not.toMatch(/psum/);
    const stats = deviceThreadStats();
    expect(stats.map((t) => t.device)).toEqual([0, 1, 2, 3]);
    expect(new Set(stats.map((t) => t.threadId)).size).toBe(4);
    expect(stats.every((t) => t.programs >= 2)).toBe(true);
    expect([...out.devices()].map(String)).toEqual(devices().map(String));
    expect(out.device.toString()).toBe("cpu:0");
    const S = (k: number) => [0, 1, 2, 3].reduce((s, i) => s + Math.sin(xs[i * 3 + k]), 0);
    expectClose(out, build([D, 3], ([i, k]) => S(k) * xs[i * 3 + k]));
  });

  it("explicit devices: the shards go to those devices", () => {
    const [x, xs] = randArray([2, 3]);
    const devs = devices().slice(2);
    const { calls, restore } = spyPrograms();
    const out = pmap((v: NDArray) => np.exp(v), { devices: devs })(x);
    restore();
    expect(calls.map((c) => c.devices)).toEqual([["cpu:2", "cpu:3"]]);
    expectClose(out, xs.map(Math.exp));
    expect(out.device.toString()).toBe("cpu:2");
    expect([...out.devices()].map(String)).toEqual(["cpu:2", "cpu:3"]);
  });

  it("with jit disabled (the JIT toggle off) the body runs equation by equation on this thread", () => {
    const [x, xs] = randArray([D, 3]);
    const { calls, restore } = spyPrograms();
    const eager = spyDevices();
    const out = withConfig("jax_disable_jit", true, () => pm((v: NDArray) => np.exp(v).add(1))(x));
    restore();
    eager.restore();
    expect(calls).toEqual([]);
    expect(eager.calls.filter((c) => c.prim === "exp").map((c) => c.device).sort()).toEqual(["cpu:0", "cpu:1", "cpu:2", "cpu:3"]);
    expectClose(out, xs.map((v) => Math.exp(v) + 1));
  });

  it("inputs committed to another device are sharded all the same", () => {
    const [x, xs] = randArray([D, 2]);
    const placed = devicePut(x, "cpu:3") as NDArray;
    expectClose(pmap((v: NDArray) => v.add(1))(placed), xs.map((v) => v + 1));
  });
});

describe("transformations of pmap", () => {
  const [x, xs] = randArray([D, 3]);

  it("jvp of pmap: the tangent of the body, per shard", () => {
    const [t, ts] = randArray([D, 3]);
    const [out, tan] = jvp(pm((v: NDArray) => lax.psum(np.sin(v), "i")), [x], [t]);
    expectClose(out, build([D, 3], ([, k]) => [0, 1, 2, 3].reduce((s, i) => s + Math.sin(xs[i * 3 + k]), 0)));
    expectClose(tan, build([D, 3], ([, k]) => [0, 1, 2, 3].reduce((s, i) => s + Math.cos(xs[i * 3 + k]) * ts[i * 3 + k], 0)));
  });

  it("vmap of pmap with a collective in the body", () => {
    const [y, ys] = randArray([2, D, 3]);
    const out = vmap(pm((v: NDArray) => lax.psum(v, "i").mul(v)))(y);
    expect(out.shape).toEqual([2, D, 3]);
    const S = (b: number, k: number) => [0, 1, 2, 3].reduce((s, i) => s + at(ys, [2, D, 3], [b, i, k]), 0);
    expectClose(out, build([2, D, 3], ([b, i, k]) => S(b, k) * at(ys, [2, D, 3], [b, i, k])));
    // The vmapped axis after the pmapped one.
    expectClose(vmap(pm((v: NDArray) => lax.psum(v, "i").mul(v)), { inAxes: 1, outAxes: 1 })(np.transpose(y, [1, 0, 2])), vals(np.transpose(out, [1, 0, 2])));
  });

  it("jit of pmap", () => {
    const f = jit(pm((v: NDArray) => lax.pmean(v.mul(v), "i")));
    expectClose(f(x), build([D, 3], ([, k]) => [0, 1, 2, 3].reduce((s, i) => s + xs[i * 3 + k] ** 2, 0) / D));
  });

  it("grad through pmap of a sum of per-shard values", () => {
    const [w, ws] = randArray([3]);
    const loss = (u: NDArray) => pm((u: NDArray, v: NDArray) => np.sum(np.sin(v.mul(u))), { inAxes: [null, 0] })(u, x).sum();
    expectClose(grad(loss)(w), build([3], ([k]) => [0, 1, 2, 3].reduce((s, i) => s + Math.cos(xs[i * 3 + k] * ws[k]) * xs[i * 3 + k], 0)), 1e-4);
    // The same with u closed over by the body (a tracer of grad, hoisted to a broadcast input).
    const closing = (u: NDArray) => pm((v: NDArray) => np.sum(np.sin(v.mul(u))))(x).sum();
    expectClose(grad(closing)(w), vals(grad(loss)(w)), 1e-6);
    // A concrete array closed over: the same on every device.
    expectClose(pm((v: NDArray) => v.mul(w))(x), build([D, 3], ([i, k]) => xs[i * 3 + k] * ws[k]));
    // An unmapped output (outAxes null): only shard 0's value counts.
    const loss0 = (u: NDArray) => pm((u: NDArray, v: NDArray) => np.sum(v.mul(u)), { inAxes: [null, 0], outAxes: null })(u, x);
    expectClose(grad(loss0)(w), [0, 1, 2].map((k) => xs[k]));
  });
});

describe("data-parallel training step", () => {
  // A two-layer MLP; each device gets a quarter of the batch.
  const [W1] = randArray([3, 8]);
  const [b1] = randArray([8]);
  const [W2] = randArray([8, 1]);
  const [b2] = randArray([1]);
  const params = { W1, b1, W2, b2 };
  const [X] = randArray([D * 5, 3]);
  const [Y] = randArray([D * 5, 1]);
  type P = typeof params;
  const loss = (p: P, x: NDArray, y: NDArray) => {
    const h = np.tanh(np.matmul(x, p.W1).add(p.b1));
    const out = np.matmul(h, p.W2).add(p.b2);
    return np.mean(out.sub(y).mul(out.sub(y)));
  };
  const single = grad(loss)(params, X, Y) as P;
  const Xs = X.reshape([D, 5, 3]);
  const Ys = Y.reshape([D, 5, 1]);
  const keys = ["W1", "b1", "W2", "b2"] as const;

  it("pmap(grad) with pmean of the gradients equals the single-device gradient of the mean loss", () => {
    const step = pm((p: P, x: NDArray, y: NDArray) => lax.pmean(grad(loss)(p, x, y), "i"), { inAxes: [null, 0, 0] });
    const g = step(params, Xs, Ys) as P;
    for (const k of keys) {
      const want = vals(single[k]);
      // Every device holds the same averaged gradient.
      expect(g[k].shape).toEqual([D, ...single[k].shape]);
      expectClose(g[k], [0, 1, 2, 3].flatMap(() => want), 1e-5);
    }
  });

  it("grad of the mean of the per-device losses equals the single-device gradient", () => {
    const total = (p: P) => np.mean(pmap(loss, { inAxes: [null, 0, 0] })(p, Xs, Ys));
    const g = grad(total)(params) as P;
    for (const k of keys) expectClose(g[k], vals(single[k]), 1e-5);
  });
});

describe("the staged program", () => {
  it("makeJaxpr prints an xla_pmap equation with the per-shard body", () => {
    const f = pm((v: NDArray) => lax.psum(np.sin(v), "i"));
    const text = makeJaxpr(f)(np.zeros([D, 3])).toString();
    expect(text).toBe(
      [
        "{ lambda ; a:f32[4,3]. let",
        "    b:f32[4,3] = xla_pmap[",
        "      axis_name=i",
        "      axis_size=4",
        "      backend=None",
        "      call_jaxpr={ lambda ; c:f32[3]. let",
        "          d:f32[3] = sin c",
        "          e:f32[3] = psum[axes=('i',) axis_index_groups=None] d",
        "        in (e,) }",
        "      devices=None",
        "      donated_invars=(False,)",
        "      global_axis_size=4",
        "      in_axes=(0,)",
        "      is_explicit_global_axis_size=False",
        "      name=<lambda>",
        "      out_axes=(0,)",
        "    ] a",
        "  in (b,) }",
      ].join("\n"),
    );
  });

  it("an unnamed pmap prints axis_name=None", () => {
    expect(makeJaxpr(pmap(np.exp))(np.zeros([2])).toString()).toMatch(/axis_name=None/);
  });
});

describe("errors", () => {
  it("more shards than devices: JAX's error", () => {
    expect(() => pmap((v: NDArray) => v.add(1))(np.zeros([5, 2]))).toThrow(ValueError);
    expect(() => pmap((v: NDArray) => v.add(1))(np.zeros([5, 2]))).toThrow("compiling computation that requires 5 logical devices, but only 4 XLA devices are available (num_replicas=5)");
    expect(() => pmap((v: NDArray) => v, { devices: devices().slice(0, 2) })(np.zeros([3]))).toThrow(/must equal the number of local devices passed to pmap. Got axis_size=3, num_local_devices=2/);
  });

  it("a collective over an axis name that no pmap binds", () => {
    expect(() => pm((v: NDArray) => lax.psum(v, "j"))(np.zeros([D]))).toThrow(NameError);
    expect(() => pm((v: NDArray) => lax.psum(v, "j"))(np.zeros([D]))).toThrow(/^unbound axis name: j\. The following axis names \(e\.g\. defined by pmap\) are available to collective operations: \['i'\]$/);
  });

  it("inconsistent mapped sizes", () => {
    expect(() => pmap((a: NDArray, b: NDArray) => a.add(b))(np.zeros([2]), np.zeros([3]))).toThrow(/pmap got inconsistent sizes/);
  });
});
