// A user's pmap cell end to end in the real VS Code: with `primal.kernel.env` set to
// { PRIMAL_CPU_DEVICES: "2" } and the kernel restarted, the kernel exposes cpu:0 and cpu:1
// (each with a thread of its own, docs/pmap.md); Run File runs fixtures/ws/pmap.ts, whose
// pmap has a psum between two elementwise steps; the value matches a float64 reference
// computed here; the IR panel gets the pmap's per-device program (kind "pmap", axis i of
// size 2 on cpu:0 and cpu:1, with the psum); and the Kernels panel gets the programs each
// device's thread compiled, linked to that record (irRecordId, irEqns).
//
// The setting is changed in the workspace and restored afterwards, and the kernel restarted
// again with the default environment, so later suites see one CPU device as before.
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as vscode from "vscode";
import type { HostToPanel, IrRecord, KernelProgramRecord, PanelKind } from "../../../kernel/protocol";
import type { InspectorPanel } from "../../../src/panels/inspector-panel";
import type { RunRecord } from "../../../src/results";
import { assertOk, lineOf, openAt, primal, runCommand, until, wsRoot } from "./primal-helpers";

type Msg<T extends HostToPanel["type"]> = Extract<HostToPanel, { type: T }>;

const DEVICES = ["cpu:0", "cpu:1"];

/** Opens a panel through its command (revealing it if open). */
async function showPanel(kind: PanelKind): Promise<InspectorPanel> {
  const id = { ir: "primal.showIr", gradients: "primal.showGradients", kernels: "primal.showKernels" }[kind];
  const p = await vscode.commands.executeCommand<InspectorPanel>(id);
  assert.ok(p, `${id} returned no panel`);
  assert.equal(p.kind, kind);
  return p;
}

/** The last message of a type posted to a panel that satisfies `pick`. */
function lastWhere<T extends HostToPanel["type"]>(p: InspectorPanel, type: T, pick: (m: Msg<T>) => boolean): Msg<T> | undefined {
  return p.posted.filter((m): m is Msg<T> => m.type === type && pick(m as Msg<T>)).at(-1);
}

/** The `primal.kernel.env` value set in the workspace (not the effective one). */
function workspaceEnv(): unknown {
  return vscode.workspace.getConfiguration("primal").inspect("kernel.env")?.workspaceValue;
}

/** Sets `primal.kernel.env` in the workspace and waits until the configuration reads it back. */
async function setKernelEnv(value: Record<string, string> | undefined): Promise<void> {
  await vscode.workspace.getConfiguration("primal").update("kernel.env", value, vscode.ConfigurationTarget.Workspace);
  await until(`primal.kernel.env = ${JSON.stringify(value)}`, () => JSON.stringify(workspaceEnv()) === JSON.stringify(value));
}

/** The CPU device ids the running kernel reported at initialize. */
function cpuDevices(api: Awaited<ReturnType<typeof primal>>): string[] {
  return (api.kernel.info?.devices ?? []).filter((d) => d.platform === "cpu").map((d) => d.id);
}

/** tanh(x) + (x summed over the mapped axis), times 2, in float64: the cell's value. */
function reference(x: number[][]): number[][] {
  const sum = x[0].map((_, j) => x.reduce((a, row) => a + row[j], 0));
  return x.map((row) => row.map((v, j) => 2 * (Math.tanh(v) + sum[j])));
}

suite("pmap over 2 CPU devices", () => {
  let file: string;
  let text: string;
  let recs: RunRecord[];
  let savedEnv: unknown;

  suiteSetup(async function () {
    this.timeout(120_000);
    const api = await primal();
    file = join(wsRoot(), "pmap.ts");
    text = readFileSync(file, "utf8");
    savedEnv = workspaceEnv();
    await setKernelEnv({ PRIMAL_CPU_DEVICES: "2" });
    // The variable is read when the kernel process starts: restart it so it takes effect.
    assert.equal(await vscode.commands.executeCommand("primal.restartKernel"), true);
    assert.deepEqual(
      cpuDevices(api),
      DEVICES,
      `the kernel started with primal.kernel.env = { PRIMAL_CPU_DEVICES: "2" } must expose two CPU devices, got ${JSON.stringify(cpuDevices(api))}`,
    );
    const ed = await openAt(file, 1);
    recs = await runCommand("primal.runFile", 3, ed.document.uri);
    recs.forEach(assertOk);
    assert.equal(api.kernel.state, "idle");
  });

  suiteTeardown(async function () {
    this.timeout(60_000);
    const api = await primal();
    await setKernelEnv(savedEnv as Record<string, string> | undefined);
    // Back to a kernel with the default environment (one CPU device), as later suites expect.
    assert.equal(await vscode.commands.executeCommand("primal.restartKernel"), true);
    assert.deepEqual(cpuDevices(api), ["cpu:0"], "after restoring primal.kernel.env the kernel has one CPU device again");
  });

  test("the cell sees two CPU devices, and the pmap's value matches a float64 reference", () => {
    assert.equal(recs[1].result?.value, "2", `devices("cpu").length in the cell: the kernel process must have two CPU devices`);
    const rec = recs[2];
    assert.ok(
      rec.outputs.some((o) => o.kind === "text" && /shards on cpu:0 cpu:1/.test(o.text)),
      `the output's shards stay on both devices: ${JSON.stringify(rec.outputs)}`,
    );
    const out = rec.result?.valueOutput;
    assert.ok(out?.kind === "array", `the value is an array: ${JSON.stringify(rec.result)}`);
    assert.deepEqual(out.shape, [2, 4]);
    assert.equal(out.dtype, "float32");
    assert.equal(out.preview.truncated, false);
    const x = [0, 1].map((d) => [0, 1, 2, 3].map((j) => 4 * d + j));
    const want = reference(x);
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 4; j++) {
        const got: unknown = out.preview.values[i][j];
        assert.equal(typeof got, "number", `[${i}][${j}] = ${JSON.stringify(got)}`);
        assert.ok(Math.abs((got as number) - want[i][j]) <= 1e-5 * Math.max(1, Math.abs(want[i][j])), `[${i}][${j}]: got ${got}, want ${want[i][j]}`);
      }
  });

  test("the IR panel shows the per-device program: kind pmap, axis i of size 2 on cpu:0 and cpu:1, with the psum", async () => {
    const ir = await showPanel("ir");
    const msg = await until("irRecords with the pmap record", () => {
      const m = ir.last("irRecords");
      return m?.data.records.some((r) => r.kind === "pmap") && m;
    });
    const pmaps = msg.data.records.filter((r: IrRecord) => r.kind === "pmap");
    assert.equal(pmaps.length, 1, `one pmap traced: ${JSON.stringify(pmaps.map((r) => [r.id, r.name]))}`);
    const rec = pmaps[0];
    assert.deepEqual(rec.pmap, { axisName: "i", axisSize: 2, devices: DEVICES });
    assert.match(rec.name, /body/, "named after the pmapped function");
    assert.match(rec.text, /psum/);
    assert.match(rec.text, /tanh/);
    assert.deepEqual(rec.inAvals.map((a) => a.shape), [[4]], "the body sees one shard");
    const prims = rec.jaxpr.eqns.map((e) => e.primitive);
    assert.equal(prims.filter((p) => p === "psum").length, 1, prims.join(" "));
    assert.ok(prims.includes("tanh") && prims.includes("mul"), prims.join(" "));
    assert.equal(rec.source?.file, file, "the record points at the cell file");
    assert.equal(rec.source?.line, lineOf(text, "const y = f(x)"), "…at the line that called the pmapped function");
  });

  test("the Kernels panel shows each device's compiled programs, linked to the pmap record", async () => {
    const api = await primal();
    const ir = api.inspectors.get("ir");
    assert.ok(ir, "the IR panel is open");
    const pmapRec = ir.last("irRecords")!.data.records.find((r) => r.kind === "pmap")!;
    const psumAt = pmapRec.jaxpr.eqns.findIndex((e) => e.primitive === "psum");
    const k = await showPanel("kernels");
    const msg = await until("kernelRecords with both devices' programs", () =>
      lastWhere(k, "kernelRecords", (m) => DEVICES.every((d) => m.data.records.some((r) => r.device === d))),
    );
    assert.deepEqual(msg.devices.filter((d) => d.platform === "cpu").map((d) => d.id), DEVICES, "the devices from kernel/initialize");
    for (const device of DEVICES) {
      const progs = msg.data.records.filter((r: KernelProgramRecord) => r.device === device);
      // The body is cut at the psum: a program before it and one after.
      assert.ok(progs.length >= 2, `${device}: ${progs.length} program(s): ${JSON.stringify(progs.map((p) => [p.name, p.irEqns]))}`);
      const covered = new Set<number>();
      for (const p of progs) {
        assert.equal(p.irRecordId, pmapRec.id, `${device} program ${p.id} (${p.name}) links to the pmap record`);
        assert.equal(p.platform, "cpu");
        assert.equal(p.name, pmapRec.name, "named after the pmapped function");
        assert.equal(p.source?.file, file);
        assert.equal(p.source?.line, pmapRec.source?.line);
        assert.ok(p.calls >= 1, `${device} program ${p.id} ran`);
        assert.ok(p.steps.length > 0, `${device} program ${p.id} has steps`);
        assert.ok(p.irEqns && p.irEqns.length > 0, `${device} program ${p.id} says which equations it computes`);
        for (const i of p.irEqns) {
          assert.ok(Number.isInteger(i) && i >= 0 && i < pmapRec.jaxpr.eqns.length, `irEqns index ${i}`);
          assert.notEqual(i, psumAt, "the collective runs between the programs, not in one");
          covered.add(i);
        }
      }
      // Between them, a device's programs compute every equation of the body but the psum.
      const want = pmapRec.jaxpr.eqns.map((_, i) => i).filter((i) => i !== psumAt);
      assert.deepEqual([...covered].sort((a, b) => a - b), want, `${device}: equations computed by its programs`);
    }
    // The same programs on each device: one row per device.
    const names = (d: string) => msg.data.records.filter((r) => r.device === d).map((r) => JSON.stringify(r.irEqns)).sort();
    assert.deepEqual(names("cpu:0"), names("cpu:1"));
  });
});
