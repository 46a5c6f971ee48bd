// pmap's per-device programs in the inspector's records, over 2 logical CPU devices
// (PRIMAL_CPU_DEVICES=2, read when the CPU backend loads, so it is set in vi.hoisted before the
// kernel is imported). A pmap call gives an IR record of kind "pmap" carrying its axis name,
// size and devices, whose text is the body as makeJaxpr prints it: the reference is makeJaxpr of
// the same function on one shard's avals, staged inside a vmap that binds the axis name (so its
// psum is staged, not evaluated), computed here independently of the record. Also: the record's
// equations are the body's equations inside makeJaxpr(pmap(f))'s xla_pmap, the message carrying
// it passes the panel's guard, inspect/jaxprs and `primal run --ir` print it under a header
// naming it a per-device program.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it, vi } from "vitest";

const savedDevices = vi.hoisted(() => {
  const was = process.env.PRIMAL_CPU_DEVICES;
  process.env.PRIMAL_CPU_DEVICES = "2";
  return was;
});

import { NDArray, devices, jit, lax, makeJaxpr, np, pmap, vmap } from "../../kernel/index";
import { IrRecord, validateHostMessage } from "../../kernel/protocol";
import { builtJaxpr, clearInspectRecords, irRecords, setInspectRecording } from "../../kernel/server/inspect-records";
import { inspectText } from "../../kernel/server/inspect-text";

const f32 = (xs: number[] | number[][]) => np.array(xs, { dtype: "float32" });

afterAll(() => {
  setInspectRecording(false);
  if (savedDevices === undefined) delete process.env.PRIMAL_CPU_DEVICES;
  else process.env.PRIMAL_CPU_DEVICES = savedDevices;
});
beforeEach(() => {
  setInspectRecording(true);
  clearInspectRecords();
});

/** The body's program as makeJaxpr prints it, staged on one shard inside a vmap that binds `axisName`. */
function bodyText(body: (...xs: NDArray[]) => NDArray, axisName: string, full: NDArray[]): string {
  let text = "";
  vmap(
    (...shards: NDArray[]) => {
      text = String(makeJaxpr(body)(...shards));
      return shards[0];
    },
    { axisName },
  )(...full);
  return text;
}

const pmapRecords = (): IrRecord[] => irRecords().records.filter((r) => r.kind === "pmap");

describe("IR records of pmap", () => {
  it("PRIMAL_CPU_DEVICES=2 gives two CPU devices", () => {
    expect(devices().map(String)).toEqual(["cpu:0", "cpu:1"]);
  });

  it("a pmap call records its per-device program: kind, axis, devices, and makeJaxpr's text of the body", () => {
    const scale = f32([1, 2, 3]);
    // A closed-over array (a const of the body), a result nobody uses (printed `_` by makeJaxpr), a collective.
    const body = function step(v: NDArray) {
      np.cos(v);
      return lax.psum(np.sin(v).mul(scale), "i");
    };
    const x = f32([
      [0.5, 1, 1.5],
      [2, 2.5, 3],
    ]);
    const out = pmap(body, { axisName: "i" })(x);
    // The call itself is right (float64 on the host): psum over both rows of sin(x)*scale.
    const xs = [
      [0.5, 1, 1.5],
      [2, 2.5, 3],
    ];
    const want = [0, 1, 2].map((j) => (Math.sin(xs[0][j]) + Math.sin(xs[1][j])) * (j + 1));
    for (const row of out.tolist() as number[][]) row.forEach((v, j) => expect(v).toBeCloseTo(want[j], 5));

    const recs = pmapRecords();
    expect(recs).toHaveLength(1);
    const r = recs[0];
    expect(r.name).toMatch(/^step\d*$/);
    expect(r.pmap).toEqual({ axisName: "i", axisSize: 2, devices: ["cpu:0", "cpu:1"] });
    // The per-shard input: the mapped axis removed (the const is a constvar of the text, as for jit).
    expect(r.inAvals.map((a) => a.text)).toEqual(["f32[3]"]);
    expect(r.jaxpr.constvars.map((v) => v.aval.text)).toEqual(["f32[3]"]);
    const ref = bodyText(body, "i", [x]);
    expect(ref).toContain("psum[axes=('i',)");
    expect(ref).toMatch(/\n {4}_:f32\[3\] = cos b\n/);
    expect(r.text).toBe(ref);
    // The structure names what the text names, and every equation knows its lines.
    expect(r.jaxpr.eqns.map((e) => e.primitive)).toEqual(["cos", "sin", "mul", "psum"]);
    expect(r.jaxpr.eqns[0].outVars[0].name).toBe("_");
    const lines = r.text.split("\n");
    for (const e of r.jaxpr.eqns) expect(lines[e.textLines![0]]).toContain(`= ${e.primitive}`);
    expect(r.source?.file).toBe(__filename);
    // No compiled program of its own on this thread.
    expect(r.optimized).toBeUndefined();
  });

  it("the record's equations are the body inside makeJaxpr(pmap(f))'s xla_pmap equation", () => {
    const body = (v: NDArray) => lax.pmean(np.tanh(v.mul(2)), "j");
    const f = pmap(body, { axisName: "j" });
    const x = np.zeros([2, 4]);
    const staged = makeJaxpr(f)(x);
    // makeJaxpr of a pmap still prints the xla_pmap equation with the per-shard body.
    expect(String(staged)).toMatch(/= xla_pmap\[\n\s+axis_name=j\n\s+axis_size=2\n/);
    const outer = builtJaxpr(staged).jaxpr;
    expect(outer.eqns.map((e) => e.primitive)).toEqual(["xla_pmap"]);
    const call = outer.eqns[0].params.find((p) => p.name === "call_jaxpr");
    expect(call?.kind).toBe("jaxprs");
    const nested = call!.kind === "jaxprs" ? call!.jaxprs[0] : null;
    // makeJaxpr traced the pmap's body once: that is the record.
    const [r] = pmapRecords();
    expect(r.pmap).toEqual({ axisName: "j", axisSize: 2, devices: ["cpu:0", "cpu:1"] });
    const prims = (j: { eqns: { primitive: string }[] }) => j.eqns.map((e) => e.primitive);
    expect(prims(r.jaxpr)).toEqual(prims(nested!));
    expect(prims(r.jaxpr)).toContain("tanh");
    expect(r.jaxpr.invars.map((v) => v.aval.text)).toEqual(nested!.invars.map((v) => v.aval.text));
    expect(r.text).toBe(bodyText(body, "j", [x]));
  });

  it("an unnamed pmap has axisName null; without collectives its text is makeJaxpr of the body on a shard", () => {
    const body = (v: NDArray, w: NDArray) => np.exp(v).add(w);
    pmap(body, { inAxes: [0, null] })(f32([1, 2]), f32([5]));
    const [r] = pmapRecords();
    expect(r.pmap).toEqual({ axisName: null, axisSize: 2, devices: ["cpu:0", "cpu:1"] });
    expect(r.text).toBe(String(makeJaxpr(body)(f32([1]).reshape([]), f32([5]))));
    expect(r.text).toBe("{ lambda ; a:f32[] b:f32[1]. let c:f32[] = exp a; d:f32[1] = add c b in (d,) }");
  });

  it("names the devices given to pmap, in shard order", () => {
    const [d0, d1] = devices();
    pmap((v: NDArray) => v.mul(3), { axisName: "k", devices: [d1, d0] })(f32([1, 2]));
    expect(pmapRecords()[0].pmap).toEqual({ axisName: "k", axisSize: 2, devices: ["cpu:1", "cpu:0"] });
  });

  it("sits among the jit records, and the message carrying it passes the panel's guard", () => {
    const inner = pmap((v: NDArray) => lax.psum(v, "i"), { axisName: "i" });
    jit(function outer(x: NDArray) {
      return inner(x).sum();
    })(f32([1, 2]));
    const data = irRecords();
    expect(data.records.map((r) => r.kind).sort()).toEqual(["jit", "pmap"]);
    const msg = JSON.parse(JSON.stringify({ type: "irRecords", data, kernel: "idle" }));
    expect(validateHostMessage(msg)).toEqual(msg);
  });

  it("inspect/jaxprs prints it under a header naming it a per-device program", () => {
    const body = function shard(v: NDArray) {
      return lax.psum(v.mul(2), "i");
    };
    const x = f32([1, 2]);
    pmap(body, { axisName: "i" })(x);
    const res = inspectText("jaxprs");
    expect(res.count).toBe(1);
    const [head, ...rest] = res.text.trimEnd().split("\n");
    expect(head).toMatch(/^--- per-device program of pmap\(shard\d*\) \(.*inspect-pmap\.test\.ts:\d+\): axis i of size 2, runs on cpu:0, cpu:1 ---$/);
    expect(rest.join("\n")).toBe(bodyText(body, "i", [x]));
  });
});

describe("primal run --ir", () => {
  it("prints a pmap's per-device program after its cell, with the axis and the devices", async () => {
    const dir = mkdtempSync(join(tmpdir(), "primal-pmap-ir-"));
    writeFileSync(
      join(dir, "p.ts"),
      [
        `import { np, pmap, lax } from "primal";`, // 1
        `// %%`, // 2
        `const f = pmap(function rows(v: np.NDArray) { return lax.psum(np.sin(v), "i"); }, { axisName: "i" });`, // 3
        `f(np.ones([2, 3])).shape`, // 4
      ].join("\n"),
    );
    // Imported through a variable, as test/kernel/cell-runner.test.ts does.
    const cliModule = "../../kernel/cli";
    type Main = (argv: string[], io: { stdout(t: string): void; stderr(t: string): void; library: object; cwd: string }) => Promise<number>;
    const { main } = (await import(cliModule)) as { main: Main };
    const real = await import("../../kernel/index");
    let stdout = "";
    let stderr = "";
    const code = await main(["run", "--ir", "p.ts"], { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), library: real, cwd: dir });
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const block =
      "--- per-device program of pmap(rows) (p.ts:4): axis i of size 2, runs on cpu:0, cpu:1 ---\n" +
      "{ lambda ; a:f32[3]. let\n" +
      "    b:f32[3] = sin a\n" +
      "    c:f32[3] = psum[axes=('i',) axis_index_groups=None] b\n" +
      "  in (c,) }\n";
    expect(stdout).toContain(block);
    // After the cell's output is printed: the cell's value comes after it.
    expect(stdout.indexOf(block)).toBeLessThan(stdout.indexOf("[ 2, 3 ]"));
  });
});
