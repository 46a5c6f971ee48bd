// The CPU devices' threads (kernel/backends/cpu/device-threads.ts, kernel/cpu-device-thread.ts)
// with two logical devices (PRIMAL_CPU_DEVICES=2, set before the kernel loads): programs from
// makeJaxpr run compiled on both threads at once with different inputs, checked against
// float64 recomputations on the host, published JAX values (random.normal) and exact integer
// arithmetic, and against evalClosedJaxpr on this thread where the two must agree bit for bit.
// Then where the data lives: outputs stay on the threads until read, dispose and garbage
// collection free them there, a chain of programs passes buffers in place (no upload), and the
// threads are real, distinct threads. Errors raised in a thread come back as the same Primal
// error class and message, and the thread goes on. Last, shutdown.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { threadId as mainThreadId } from "node:worker_threads";
import { describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.PRIMAL_CPU_DEVICES = "2";
});

import { AxisError, ClosedJaxpr, DeviceError, DisposedError, Jaxpr, NDArray, NotAvailableError, PrimalError, devices, lax, makeJaxpr, np, random } from "../../kernel/index";
import { ShapedArray } from "../../kernel/core/aval";
import { DeviceBuffer } from "../../kernel/core/device";
import { Storage } from "../../kernel/core/dtype";
import { evalClosedJaxpr } from "../../kernel/ir/eval-jaxpr";
import { JaxprEqn } from "../../kernel/ir/jaxpr";
import {
  deviceThreadStats, deviceThreadsEnabled, isThreadBuffer, putOnThread, runPrograms, shutdownDeviceThreads,
} from "../../kernel/backends/cpu/device-threads";
import { randArrays, vals } from "./helpers/host-arrays";

type Fn = (...args: any[]) => any;
const devs = devices("cpu");
const rand = randArrays(2024);
const f32Rand = (shape: number[]) => rand(shape)[0];

/** A program and the per-device inputs it runs on. */
const program = (f: Fn, ...args: NDArray[]) => makeJaxpr(f)(...args) as unknown as ClosedJaxpr;
const buf = (x: NDArray): { buffer: DeviceBuffer; aval: ShapedArray } => ({ buffer: x._buf("test"), aval: x.aval });

/** Runs `cj` on device i's thread with inputs ins[i], all at once; returns the output buffers. */
function onThreads(cj: ClosedJaxpr, ins: NDArray[][], name = "test"): DeviceBuffer[][] {
  return runPrograms(ins.map((xs, i) => ({ device: devs[i], program: cj, name, inputs: xs.map(buf) })));
}

/** The bytes of a storage, for bit-for-bit comparisons (NaNs and signed zeros included). */
const bytesOf = (s: Storage) => Array.from(new Uint8Array(s.buffer, s.byteOffset, s.byteLength));
const numbers = (s: Storage) => Array.from(s as ArrayLike<number>, Number);

/** |got - want| within tol relative to `scale` (default: max(1, |want|)) for every element. */
function expectNear(got: Storage, want: number[], tol: number, scale?: number[]): void {
  const g = numbers(got);
  expect(g.length).toBe(want.length);
  g.forEach((v, i) => {
    const s = scale ? scale[i] : Math.max(1, Math.abs(want[i]));
    if (!(Math.abs(v - want[i]) <= tol * s)) throw new Error(`element ${i}: got ${v}, want ${want[i]} (tolerance ${tol * s})`);
  });
}

/** This thread's eager result of `cj` on `xs` (evalClosedJaxpr): the storages of its outputs. */
const onMain = (cj: ClosedJaxpr, xs: NDArray[]): Storage[] => evalClosedJaxpr(cj, xs).map((o) => o._buf("test").readSync());

const liveArrays = () => deviceThreadStats().map((s) => s.liveArrays);

describe("setup", () => {
  it("two CPU devices, device threads on", () => {
    expect(devs.map(String)).toEqual(["cpu:0", "cpu:1"]);
    expect(deviceThreadsEnabled()).toBe(true);
  });
});

describe("programs on both threads against references", () => {
  it("an elementwise chain, against float64", () => {
    const f = (x: NDArray) => np.sin(x).mul(2).add(x.mul(x)).sub(np.exp(x.neg()).div(x.mul(x).add(1)));
    const ins = [f32Rand([257]), f32Rand([257])];
    const cj = program(f, ins[0]);
    const outs = onThreads(cj, ins.map((x) => [x]), "chain");
    ins.forEach((x, i) => {
      const want = vals(x).map((v) => 2 * Math.sin(v) + v * v - Math.exp(-v) / (v * v + 1));
      expectNear(outs[i][0].readSync(), want, 2e-6);
      // Eager and compiled may fuse and round differently: both within float32 of float64.
      expectNear(onMain(cj, [x])[0], want, 2e-6);
    });
    // Different inputs, different results: each thread ran its own shard.
    expect(bytesOf(outs[0][0].readSync())).not.toEqual(bytesOf(outs[1][0].readSync()));
  });

  it("a 64x64 matmul, against float64", () => {
    const as = [f32Rand([64, 64]), f32Rand([64, 64])];
    const b = f32Rand([64, 64]);
    const cj = program((x: NDArray, y: NDArray) => np.matmul(x, y), as[0], b);
    const outs = onThreads(cj, as.map((a) => [a, b]), "matmul");
    const bv = vals(b);
    as.forEach((a, i) => {
      const av = vals(a);
      const want: number[] = [];
      const scale: number[] = [];
      for (let r = 0; r < 64; r++)
        for (let c = 0; c < 64; c++) {
          let s = 0;
          let m = 0;
          for (let k = 0; k < 64; k++) {
            s += av[r * 64 + k] * bv[k * 64 + c];
            m += Math.abs(av[r * 64 + k] * bv[k * 64 + c]);
          }
          want.push(s);
          scale.push(m);
        }
      expectNear(outs[i][0].readSync(), want, 1e-6, scale);
      expectNear(onMain(cj, [a, b])[0], want, 1e-6, scale);
    });
  });

  it("reductions: a sum against float64, a max exactly", () => {
    const ins = [f32Rand([33, 40]), f32Rand([33, 40])];
    const cj = program((x: NDArray) => [x.sum(1), x.max(0)], ins[0]);
    const outs = onThreads(cj, ins.map((x) => [x]), "reduce");
    ins.forEach((x, i) => {
      const v = vals(x);
      const sums = Array.from({ length: 33 }, (_, r) => v.slice(r * 40, r * 40 + 40).reduce((a, b) => a + b, 0));
      const sumScale = Array.from({ length: 33 }, (_, r) => v.slice(r * 40, r * 40 + 40).reduce((a, b) => a + Math.abs(b), 0));
      const maxs = Array.from({ length: 40 }, (_, c) => Math.max(...Array.from({ length: 33 }, (_, r) => v[r * 40 + c])));
      expectNear(outs[i][0].readSync(), sums, 1e-6, sumScale);
      expect(numbers(outs[i][1].readSync())).toEqual(maxs);
    });
  });

  it("a cond: each thread takes its own branch", () => {
    const xs = [f32Rand([6]), f32Rand([6])];
    const preds = [np.array(true), np.array(false)];
    const cj = program((p: NDArray, x: NDArray) => lax.cond(p, (v: NDArray) => v.add(1), (v: NDArray) => v.mul(-2), x), preds[0], xs[0]);
    const outs = onThreads(cj, [[preds[0], xs[0]], [preds[1], xs[1]]], "cond");
    expect(numbers(outs[0][0].readSync())).toEqual(vals(xs[0]).map((v) => Math.fround(v + 1)));
    expect(numbers(outs[1][0].readSync())).toEqual(vals(xs[1]).map((v) => -2 * v));
  });

  it("a scan: a running sum, rounded to float32 at each step", () => {
    const xs = [f32Rand([50]), f32Rand([50])];
    const cj = program((x: NDArray) => lax.scan((c: NDArray, e: NDArray) => [c.add(e), c.add(e)], np.zeros([], { dtype: "float32" }), x), xs[0]);
    const outs = onThreads(cj, xs.map((x) => [x]), "scan");
    xs.forEach((x, i) => {
      let c = 0;
      const ys = vals(x).map((e) => (c = Math.fround(c + e)));
      expect(numbers(outs[i][0].readSync())).toEqual([c]);
      expect(numbers(outs[i][1].readSync())).toEqual(ys);
    });
  });

  it("random.normal with a key: JAX's published values, and this thread's bits", () => {
    const keys = [random.PRNGKey(0), random.PRNGKey(1)];
    const cj = program((k: NDArray) => random.normal(k, [5]), keys[0]);
    const outs = onThreads(cj, keys.map((k) => [k]), "normal");
    // jax.random.normal(jax.random.key(0), (5,)) (test/kernel/random.test.ts, same values).
    expectNear(outs[0][0].readSync(), [1.6226422, 2.0252647, -0.43359444, -0.07861735, 0.1760909], 1e-6);
    keys.forEach((k, i) => expectNear(outs[i][0].readSync(), numbers(onMain(cj, [k])[0]), 1e-6));
    expect(bytesOf(outs[0][0].readSync())).not.toEqual(bytesOf(outs[1][0].readSync()));
  });

  it("int32 and bool outputs, exactly", () => {
    const mk = (seed: number) => np.array(Array.from({ length: 20 }, (_, i) => ((i * 7919 + seed * 104729) % 2001) - 1000), { dtype: "int32" });
    const ins = [[mk(1), mk(2)], [mk(3), mk(4)]];
    const cj = program((x: NDArray, y: NDArray) => [x.mul(3).add(y), x.gt(y)], ...ins[0]);
    const outs = onThreads(cj, ins, "ints");
    ins.forEach(([x, y], i) => {
      const xv = vals(x);
      const yv = vals(y);
      expect(outs[i][0].readSync()).toBeInstanceOf(Int32Array);
      expect(numbers(outs[i][0].readSync())).toEqual(xv.map((v, k) => v * 3 + yv[k]));
      expect(outs[i][1].readSync()).toBeInstanceOf(Uint8Array);
      expect(numbers(outs[i][1].readSync())).toEqual(xv.map((v, k) => (v > yv[k] ? 1 : 0)));
      onMain(cj, [x, y]).forEach((m, k) => expect(bytesOf(outs[i][k].readSync())).toEqual(bytesOf(m)));
    });
  });
});

describe("where the data lives", () => {
  const double = program((x: NDArray) => x.mul(2), f32Rand([16]));

  it("outputs stay on the threads until read; dispose frees them there", () => {
    const before = liveArrays();
    const xs = [f32Rand([16]), f32Rand([16])];
    const outs = onThreads(double, xs.map((x) => [x]));
    // The inputs were uploaded for the run and released after it: only the outputs remain.
    expect(liveArrays()).toEqual(before.map((n) => n + 1));
    outs.forEach(([o], i) => {
      expect(isThreadBuffer(o)).toBe(true);
      expect(o.device).toBe(devs[i]);
      expect(o.peek!()).toBeNull();
      expect(numbers(o.readSync())).toEqual(vals(xs[i]).map((v) => 2 * v));
      expect(o.peek!()).not.toBeNull();
    });
    expect(isThreadBuffer(xs[0]._buf("test"))).toBe(false);
    // Read, the outputs are still on the threads (they may be inputs of a next program).
    expect(liveArrays()).toEqual(before.map((n) => n + 1));
    outs[0][0].dispose();
    expect(liveArrays()).toEqual([before[0], before[1] + 1]);
    outs[1][0].dispose();
    expect(liveArrays()).toEqual(before);
    expect(() => outs[1][0].readSync()).toThrow(DisposedError);
  });

  it("a chain: outputs fed to the next program in place, without an upload", () => {
    const xs = [f32Rand([16]), f32Rand([16])];
    const first = onThreads(double, xs.map((x) => [x]));
    const uploads = deviceThreadStats().map((s) => s.uploads);
    const inc = program((x: NDArray) => x.add(1), xs[0]);
    const second = runPrograms(first.map(([b], i) => ({ device: devs[i], program: inc, name: "inc", inputs: [{ buffer: b, aval: xs[i].aval }] })));
    expect(deviceThreadStats().map((s) => s.uploads)).toEqual(uploads);
    second.forEach(([o], i) => expect(numbers(o.readSync())).toEqual(vals(xs[i]).map((v) => Math.fround(2 * v + 1))));
    // A buffer of the other device's thread is read and uploaded.
    const crossed = runPrograms([{ device: devs[1], program: inc, name: "inc", inputs: [{ buffer: first[0][0], aval: xs[0].aval }] }]);
    expect(deviceThreadStats().map((s) => s.uploads)).toEqual([uploads[0], uploads[1] + 1]);
    expect(numbers(crossed[0][0].readSync())).toEqual(vals(xs[0]).map((v) => Math.fround(2 * v + 1)));
    [...first, ...second, ...crossed].forEach(([b]) => b.dispose());
  });

  it("putOnThread: an upload ahead of time, used in place", () => {
    const x = f32Rand([16]);
    const before = deviceThreadStats()[1].uploads;
    const put = putOnThread(devs[1], x._buf("test").readSync(), x.aval);
    expect(isThreadBuffer(put)).toBe(true);
    const [[o]] = runPrograms([{ device: devs[1], program: double, name: "double", inputs: [{ buffer: put, aval: x.aval }] }]);
    expect(deviceThreadStats()[1].uploads).toBe(before + 1);
    expect(numbers(o.readSync())).toEqual(vals(x).map((v) => 2 * v));
    expect(bytesOf(put.readSync())).toEqual(bytesOf(x._buf("test").readSync()));
    put.dispose();
    o.dispose();
  });

  it("each program is sent to a thread once", () => {
    const before = deviceThreadStats().map((s) => s.programs);
    const x = f32Rand([16]);
    const cj = program((v: NDArray) => v.sub(3), x);
    for (let k = 0; k < 3; k++) onThreads(cj, [[x], [x]]).forEach(([b]) => b.dispose());
    expect(deviceThreadStats().map((s) => s.programs)).toEqual(before.map((n) => n + 1));
  });

  it("buffers never disposed are freed when garbage-collected", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const collect = async () => {
      gc();
      await new Promise((r) => setTimeout(r, 20));
    };
    // Outputs of the tests above that nobody holds go first, so the count starts from what is held.
    for (let k = 0; k < 5; k++) await collect();
    const before = liveArrays();
    (() => {
      const xs = [f32Rand([16]), f32Rand([16])];
      for (let k = 0; k < 5; k++) onThreads(double, xs.map((x) => [x]));
    })();
    expect(liveArrays()).toEqual(before.map((n) => n + 5));
    let now = liveArrays();
    for (let k = 0; k < 50 && now.some((n, i) => n !== before[i]); k++) {
      await collect();
      now = liveArrays();
    }
    expect(now).toEqual(before);
  });

  it("the threads are two distinct threads, not this one, and load no WebGPU", () => {
    const stats = deviceThreadStats();
    expect(stats.map((s) => s.device)).toEqual([0, 1]);
    const ids = stats.map((s) => s.threadId);
    expect(new Set(ids).size).toBe(2);
    expect(ids).not.toContain(mainThreadId);
    expect(stats.every((s) => typeof s.startupMs === "number" && s.startupMs > 0)).toBe(true);
    // Threads share the process's address space: Dawn loaded by a thread would be mapped here.
    // (This process itself runs on the CPU backend: PRIMAL_BACKEND=cpu in vitest.config.mts.)
    if (process.platform === "linux") expect(readFileSync("/proc/self/maps", "utf8")).not.toMatch(/dawn\.node/);
  });
});

describe("errors", () => {
  /** A reduce_sum over axis 5 of a 2-d array: it traces fine with axis 0, then the axis is changed. */
  function badSum(x: NDArray): ClosedJaxpr {
    const cj = program((v: NDArray) => v.sum(0), x);
    const j = cj.jaxpr;
    const eqns = j.eqns.map((e) => (e.primitive.name === "reduce_sum" ? new JaxprEqn(e.primitive, e.inputs, { ...e.params, axes: [5] }, e.outVars) : e));
    return new ClosedJaxpr(new Jaxpr(j.constvars, j.invars, eqns, j.outvars), cj.consts);
  }

  it("an error raised in a thread comes back as the same error class and message, and the thread goes on", () => {
    const x = f32Rand([3, 4]);
    const bad = badSum(x);
    let onThisThread: unknown;
    try {
      evalClosedJaxpr(bad, [x]);
    } catch (e) {
      onThisThread = e;
    }
    expect(onThisThread).toBeInstanceOf(AxisError);
    const before = liveArrays();
    const good = program((v: NDArray) => v.mul(2), x);
    let got: unknown;
    try {
      // Device 0 runs a good program, device 1 the bad one: the good one's outputs are freed.
      runPrograms([
        { device: devs[0], program: good, name: "good", inputs: [buf(x)] },
        { device: devs[1], program: bad, name: "bad", inputs: [buf(x)] },
      ]);
    } catch (e) {
      got = e;
    }
    expect(got).toBeInstanceOf(AxisError);
    expect(got).toBeInstanceOf(PrimalError);
    expect((got as Error).message).toBe((onThisThread as Error).message);
    expect((got as Error).message).toMatch(/^reduce_sum: /);
    expect(liveArrays()).toEqual(before);
    // The thread survived: it runs the next job.
    const [[o]] = runPrograms([{ device: devs[1], program: good, name: "good", inputs: [buf(x)] }]);
    expect(numbers(o.readSync())).toEqual(vals(x).map((v) => 2 * v));
    o.dispose();
  });

  it("a program that cannot be sent raises the wire's NotAvailableError before anything runs", () => {
    const x = f32Rand([4]);
    const cj = program((v: NDArray) => v.sum(), x);
    const j = cj.jaxpr;
    const eqns = j.eqns.map((e) => new JaxprEqn(e.primitive, e.inputs, { ...e.params, callback: () => 1 }, e.outVars));
    const unsendable = new ClosedJaxpr(new Jaxpr(j.constvars, j.invars, eqns, j.outvars), cj.consts);
    expect(() => onThreads(unsendable, [[x], [x]])).toThrow(NotAvailableError);
  });

  it("a disposed input raises DisposedError; the job already started leaves nothing behind", () => {
    const x = f32Rand([16]);
    const cj = program((v: NDArray) => v.mul(2), x);
    const [[gone]] = runPrograms([{ device: devs[1], program: cj, name: "first", inputs: [buf(x)] }]);
    gone.dispose();
    const before = liveArrays();
    expect(() =>
      runPrograms([
        { device: devs[0], program: cj, name: "ok", inputs: [buf(x)] },
        { device: devs[1], program: cj, name: "late", inputs: [{ buffer: gone, aval: x.aval }] },
      ]),
    ).toThrow(DisposedError);
    expect(liveArrays()).toEqual(before);
  });

  it("inputs that do not match the program raise before anything runs", () => {
    const x = f32Rand([4]);
    const cj = program((v: NDArray) => v.mul(2), x);
    expect(() => onThreads(cj, [[f32Rand([5])], [x]])).toThrow(/input 0 of the program is f32\[4\], got f32\[5\]/);
    expect(() => onThreads(cj, [[], [x]])).toThrow(/takes 1 inputs, got 0/);
  });
});

describe("PRIMAL_CPU_DEVICE_THREADS", () => {
  it("=0 turns the device threads off (checked in a child process: the variable is read once)", async () => {
    const esbuild = await import("esbuild");
    const entry = join(__dirname, "..", "..", "kernel", "backends", "cpu", "device-threads.ts");
    const code = esbuild.buildSync({
      stdin: { contents: `import "../../kernel/backends/cpu/cpu-backend"; import { deviceThreadsEnabled } from ${JSON.stringify(entry)}; console.log(String(deviceThreadsEnabled()));`, resolveDir: __dirname, loader: "ts" },
      bundle: true, write: false, platform: "node", format: "cjs", external: ["esbuild", "webgpu"], logLevel: "silent",
    }).outputFiles[0].text;
    const run = (value: string) => spawnSync(process.execPath, ["-"], { input: code, cwd: join(__dirname, "..", ".."), env: { ...process.env, PRIMAL_CPU_DEVICE_THREADS: value }, encoding: "utf8" }).stdout.trim();
    expect(run("0")).toBe("false");
    expect(run("1")).toBe("true");
  });
});

describe("shutdown", () => {
  it("stops the threads: unread arrays are gone, read ones stay readable, the next job starts new threads", async () => {
    const xs = [f32Rand([16]), f32Rand([16])];
    const double = program((x: NDArray) => x.mul(2), xs[0]);
    const outs = onThreads(double, xs.map((x) => [x]));
    outs[0][0].readSync();
    const oldIds = deviceThreadStats().map((s) => s.threadId);
    await shutdownDeviceThreads();
    expect(deviceThreadStats()).toEqual([]);
    expect(numbers(outs[0][0].readSync())).toEqual(vals(xs[0]).map((v) => 2 * v));
    expect(() => outs[1][0].readSync()).toThrow(DeviceError);
    const again = onThreads(double, xs.map((x) => [x]));
    expect(numbers(again[1][0].readSync())).toEqual(vals(xs[1]).map((v) => 2 * v));
    const newIds = deviceThreadStats().map((s) => s.threadId);
    expect(newIds.some((id) => oldIds.includes(id))).toBe(false);
    await shutdownDeviceThreads();
  });
});
