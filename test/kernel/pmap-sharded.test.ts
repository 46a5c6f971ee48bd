// pmap outputs whose shards stay on their devices (PRIMAL_CPU_DEVICES=4, set before the kernel
// loads): the output is one array over every device, gathered only when read whole and then
// equal to the stacked host reference along any out_axes; a sharded array fed to the next pmap
// along the same axis and devices is read in place (never gathered); devicePutSharded and
// devicePutReplicated make such arrays; disposing an output never frees an input's shard; the
// host stacking itself against index arithmetic; and the errors of the placement functions.

import { afterEach, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.PRIMAL_CPU_DEVICES = "4";
});

import { NDArray, devicePutReplicated, devicePutSharded, devices, lax, np, pmap } from "../../kernel/index";
import { ShardedBuffer, stackStorage } from "../../kernel/core/sharded";
import { ShapeError } from "../../kernel/core/errors";
import { at, build, expectClose, randArrays, vals } from "./helpers/host-arrays";

const D = 4;
const randArray = randArrays(97);

afterEach(() => vi.restoreAllMocks());

/** Counts gathers of sharded arrays (ShardedBuffer.resolve calls). */
const spyGather = () => vi.spyOn(ShardedBuffer.prototype, "resolve");

describe("pmap outputs stay sharded", () => {
  it("an output lives on every device and reads back as the stacked result", () => {
    const [x, xv] = randArray([D, 3, 5]);
    const y = pmap((v: NDArray) => np.sin(v).mul(2))(x) as NDArray;
    expect([...y.devices()].map(String)).toEqual(devices().map(String));
    expect(y.shape).toEqual([D, 3, 5]);
    expect(y._buffer).toBeInstanceOf(ShardedBuffer);
    expectClose(y, xv.map((v) => 2 * Math.sin(v)), 1e-6);
  });

  it("out_axes 1 and 2 stack the shards along those axes", () => {
    const [x, xv] = randArray([D, 2, 3]);
    for (const ax of [1, 2]) {
      const y = pmap((v: NDArray) => v.add(1), { outAxes: ax })(x) as NDArray;
      const shape = [2, 3];
      shape.splice(ax, 0, D);
      expect(y.shape).toEqual(shape);
      // y[..., i at ax, ...] = x[i, ...] + 1
      const want = build(shape, (idx) => {
        const i = idx[ax];
        const rest = idx.filter((_, k) => k !== ax);
        return at(xv, [D, 2, 3], [i, ...rest]) + 1;
      });
      expectClose(y, want, 1e-6);
    }
  });

  it("a pmap output fed to the next pmap is read in place, not gathered", () => {
    const [x, xv] = randArray([D, 8]);
    const step = pmap((v: NDArray) => v.mul(0.5).add(lax.psum(v, "i").mul(0.1)), { axisName: "i" });
    const gathers = spyGather();
    let y = x;
    for (let k = 0; k < 3; k++) y = step(y) as NDArray;
    expect(gathers).not.toHaveBeenCalled();
    // Host reference of the three steps in float64.
    let ref = xv;
    for (let k = 0; k < 3; k++) {
      const sums = build([8], ([j]) => [0, 1, 2, 3].reduce((s, i) => s + ref[i * 8 + j], 0));
      ref = ref.map((v, n) => 0.5 * v + 0.1 * sums[n % 8]);
    }
    expectClose(y, ref, 1e-5);
    expect(gathers).toHaveBeenCalled();
  });

  it("blockUntilReady and devices() do not gather; operations outside pmap read the whole array", async () => {
    const [x, xv] = randArray([D, 6]);
    const y = pmap((v: NDArray) => v.mul(3))(x) as NDArray;
    const gathers = spyGather();
    await y.blockUntilReady();
    expect(y.devices().size).toBe(D);
    expect(gathers).not.toHaveBeenCalled();
    expectClose(y.sum(0), build([6], ([j]) => [0, 1, 2, 3].reduce((s, i) => s + 3 * xv[i * 6 + j], 0)), 1e-5);
    expect(gathers).toHaveBeenCalled();
  });

  it("disposing an output that returns its input unchanged leaves the input intact", () => {
    const x = devicePutSharded(
      [0, 1, 2, 3].map((i) => np.full([2], i)),
      devices(),
    ) as NDArray;
    const [y, z] = pmap((v: NDArray) => [v, v.add(1)])(x) as NDArray[];
    y.dispose();
    z.dispose();
    expect(vals(x)).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    const w = pmap((v: NDArray) => [v, v])(x) as NDArray[];
    w[0].dispose();
    expect(vals(w[1])).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    expect(vals(x)).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
  });
});

describe("devicePutSharded and devicePutReplicated", () => {
  it("devicePutSharded stacks the shards along a new axis, one per device, read in place by pmap", () => {
    const parts = [0, 1, 2, 3].map((i) => randArray([3, 2]));
    const x = devicePutSharded(
      parts.map(([a]) => a),
      devices(),
    ) as NDArray;
    expect(x.shape).toEqual([D, 3, 2]);
    expect([...x.devices()].map(String)).toEqual(devices().map(String));
    const gathers = spyGather();
    const y = pmap((v: NDArray) => v.mul(v))(x) as NDArray;
    expect(gathers).not.toHaveBeenCalled();
    expectClose(
      y,
      parts.flatMap(([, v]) => v.map((e) => e * e)),
      1e-6,
    );
  });

  it("devicePutSharded takes pytrees; devicePutReplicated copies one value to every device", () => {
    const tree = devicePutSharded(
      [0, 1, 2, 3].map((i) => ({ w: np.full([2], i), b: [np.array(i * 10)] })),
      devices(),
    ) as { w: NDArray; b: NDArray[] };
    expect(vals(tree.w)).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    expect(vals(tree.b[0])).toEqual([0, 10, 20, 30]);
    const r = devicePutReplicated({ p: np.array([1.5, -2]) }, devices()) as { p: NDArray };
    expect(r.p.shape).toEqual([D, 2]);
    expect(r.p.devices().size).toBe(D);
    const s = pmap((p: NDArray) => lax.psum(p, "i"), { axisName: "i" })(r.p) as NDArray;
    expect(vals(s)).toEqual([6, -8, 6, -8, 6, -8, 6, -8]);
  });

  it("mismatched shards and device counts are clear errors", () => {
    expect(() => devicePutSharded([np.zeros([2]), np.zeros([3]), np.zeros([2]), np.zeros([2])], devices())).toThrow(/devicePutSharded: every shard must have the same shape and dtype, got f32\[2\] and f32\[3\] \(shard 1\)/);
    expect(() => devicePutSharded([np.zeros([2])], devices())).toThrow(ShapeError);
    expect(() => devicePutSharded([np.zeros([2])], [])).toThrow(/devicePutSharded: devices must be a non-empty list of devices/);
    expect(() => devicePutReplicated(np.zeros([2]), ["cpu:9"])).toThrow(/devicePutReplicated: no such device, got "cpu:9"/);
  });
});

describe("stackStorage", () => {
  it("matches index arithmetic along every axis", () => {
    const shardShape = [2, 3, 4];
    const parts = [0, 1, 2].map((i) => Float32Array.from({ length: 24 }, (_, k) => 100 * i + k));
    for (let axis = 0; axis <= 3; axis++) {
      const out = stackStorage(parts, shardShape, axis);
      const shape = [...shardShape];
      shape.splice(axis, 0, 3);
      const want = build(shape, (idx) => {
        const i = idx[axis];
        const rest = idx.filter((_, k) => k !== axis);
        return 100 * i + (rest[0] * 3 + rest[1]) * 4 + rest[2];
      });
      expect(Array.from(out)).toEqual(want);
    }
  });
});
