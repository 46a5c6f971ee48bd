// @vitest-environment happy-dom
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The kernels panel (webview/kernels/) rendering real records: jitted functions run on the CPU
// backend with inspection recording on, and the panel is sent what inspect/kernelRecords answers
// (through the bridge, as the extension sends it). Checked: the program row and its totals,
// the steps in execution order, a JS kernel's source highlighted as JavaScript, and the
// messages posted on clicks (revealSource with the line of this file that called the function,
// showInIr with the fused equations, openText with the source). A synthetic set of 200 programs
// of 50 steps checks virtualisation and lazy expansion (bounded DOM, sources rendered only when
// their step is opened), and a second panel on the saved state comes back as it was left.

import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NDArray } from "../../kernel/core/ndarray";
import { allDevicesOfAllBackends } from "../../kernel/core/device";
import { jit, np } from "../../kernel/index";
import { setKernelTiming } from "../../kernel/lower/inspect";
import { clearInspectRecords, kernelRecords, setInspectRecording } from "../../kernel/server/inspect-records";
import {
  DeviceInfo, HostToPanel, KernelProgramRecord, KernelRecordsResult, KernelStepInfo, PanelToHost, validateHostMessage, validatePanelMessage,
} from "../../kernel/protocol";
import { clear } from "../../webview/common/dom";
import { startKernelsPanel } from "../../webview/kernels/main";
import { KernelsView } from "../../webview/kernels/view";
import { Harness as FakeHarness, cleanUpPanelsAfterEach, sendToPanel, startInDom } from "./fake-vscode";

/** The line of this file that carries the comment `// @tag`. */
const lineOf = (tag: string) => readFileSync(__filename, "utf8").split("\n").findIndex((l) => l.includes(`// @${tag}`)) + 1;

type Harness = FakeHarness<KernelsView>;
/** Starts a panel in a fresh root with a fake VS Code API (optionally with saved state). */
const start = (saved?: unknown): Promise<Harness> => startInDom(startKernelsPanel, saved);

const send = sendToPanel;

/** The rendered rows, in display order. */
const rows = (root: HTMLElement) => [...root.querySelectorAll<HTMLElement>(".vlist-row")].sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index));
const rowsOf = (root: HTMLElement, kind: string) => rows(root).filter((r) => r.classList.contains(`krow-${kind}`));
const click = (el: Element) => el.dispatchEvent(new MouseEvent("click", { bubbles: true }));

/** The devices the kernel reports in kernel/initialize (same mapping as the kernel server). */
const cpuDevices = (): DeviceInfo[] =>
  allDevicesOfAllBackends()
    .filter((d) => d.platform === "cpu")
    .map((d) => ({ id: String(d), platform: d.platform, kind: d.deviceKind, threads: 4 }));

let harness: Harness | null = null;
cleanUpPanelsAfterEach();

describe("kernels panel on real records (CPU backend)", () => {
  let data: KernelRecordsResult;
  let small: KernelProgramRecord;
  let mlp: KernelProgramRecord;

  beforeAll(() => {
    setInspectRecording(true);
    clearInspectRecords();
    setKernelTiming(true);
    const layer = jit(function denseLayer(x: NDArray, w: NDArray) {
      return np.tanh(np.dot(x, w).mul(2).add(1)).sum(0);
    });
    const scale = jit(function scaleSin(x: NDArray) {
      return np.sin(x).mul(3).add(0.5);
    });
    layer(np.ones([8, 4]), np.ones([4, 3])); // @layer
    scale(np.array([1, 2, 3], { dtype: "float32" })); // @scale
    scale(np.array([4, 5, 6], { dtype: "float32" }));
    data = kernelRecords({});
    [small, mlp] = data.records;
  });
  afterAll(() => {
    setKernelTiming(false);
    setInspectRecording(false);
  });

  it("the records are what the panel is about to show", () => {
    expect(data.records.map((r) => r.name)).toEqual(["scaleSin", "denseLayer"]);
    expect(small.steps.some((s) => s.language === "javascript")).toBe(true);
    expect(mlp.steps.map((s) => s.kind)).toContain("library");
    expect(small.irRecordId).toBeDefined();
  });

  it("shows a row per program, newest first, with its totals and badges", async () => {
    harness = await start();
    const { root, posted } = harness;
    expect(posted[0]).toEqual({ type: "ready" });
    send({ type: "kernelRecords", data, devices: cpuDevices(), kernel: "idle" });
    const progs = rowsOf(root, "program");
    expect(progs.map((r) => r.querySelector(".prog-name")!.textContent)).toEqual(["scaleSin", "denseLayer"]);
    const [p0, p1] = progs;
    expect(p0.getAttribute("role")).toBe("treeitem");
    expect(p0.getAttribute("aria-expanded")).toBe("false");
    expect(p0.querySelector(".badge.platform")!.textContent).toBe("cpu");
    const stats0 = p0.querySelector(".prog-stats")!.textContent!;
    expect(stats0).toContain(`${small.counts.kernels} kernel`);
    expect(stats0).toContain(`${small.eqnCount} eqn`);
    expect(stats0).toContain(`${small.calls} calls`);
    expect(small.calls).toBe(2);
    expect(stats0).toMatch(/time \d/);
    expect(stats0).toMatch(/compile \d/);
    expect(stats0).toContain("peak temp");
    expect(p1.querySelector(".prog-stats")!.textContent).toContain(`${mlp.counts.library} library`);
    // The second program was compiled from the first's cache entry only if it was; here neither.
    expect(progs.map((p) => !!p.querySelector(".badge.cache"))).toEqual([small.cacheHit !== null, mlp.cacheHit !== null]);
    // The header: the CPU device and the count.
    expect(root.querySelector(".device-id")!.textContent).toBe("cpu:0");
    expect(root.querySelector(".program-count")!.textContent).toBe("2 programs");
  });

  it("expands a program to its steps in execution order and a step to its details and highlighted JS source", async () => {
    harness = await start();
    const { root, posted } = harness;
    send({ type: "kernelRecords", data, devices: cpuDevices(), kernel: "idle" });
    click(rowsOf(root, "program")[1]);
    expect(rowsOf(root, "program")[1].getAttribute("aria-expanded")).toBe("true");
    expect(rowsOf(root, "step").map((r) => r.querySelector(".step-name")!.textContent)).toEqual(mlp.steps.map((s) => s.name));
    expect(rowsOf(root, "step").map((r) => r.querySelector(`.badge.kind-${mlp.steps[Number(r.querySelector(".step-index")!.textContent!.slice(1))].kind}`) !== null)).toEqual(mlp.steps.map(() => true));
    // No step is open: no source, equation or detail rows exist yet (lazy).
    expect(rowsOf(root, "source-line")).toHaveLength(0);
    expect(rowsOf(root, "eqn")).toHaveLength(0);
    // Collapse it again, open the small program and its JS kernel.
    click(rowsOf(root, "program")[1]);
    click(rowsOf(root, "program")[0]);
    const js = small.steps.find((s) => s.language === "javascript")!;
    const stepRow = rowsOf(root, "step").find((r) => r.querySelector(".step-name")!.textContent === js.name)!;
    expect(stepRow.querySelector(".badge.lang")!.textContent).toBe("javascript");
    expect(stepRow.querySelector(".step-time")!.textContent).toMatch(/ms$/);
    click(stepRow);
    // Details: launch shape, time, the fused equations, then the source line by line.
    const launch = rowsOf(root, "detail").find((r) => r.textContent!.startsWith("launch:"))!;
    expect(launch.textContent).toContain(`[${js.launchShape.join(", ")}], ${js.elements} elements`);
    expect(rowsOf(root, "eqn").map((r) => r.querySelector(".code-line")!.textContent)).toEqual(js.eqnText);
    expect(rowsOf(root, "eqn")[0].querySelector(".code-line span")).not.toBeNull();
    const srcHead = rowsOf(root, "source")[0];
    const lines = js.source!.replace(/\n$/, "").split("\n");
    expect(srcHead.textContent).toContain(`source (javascript, ${lines.length} line`);
    const srcRows = rowsOf(root, "source-line");
    expect(srcRows.length).toBe(Math.min(lines.length, srcRows.length));
    expect(srcRows.length).toBeGreaterThan(0);
    expect(srcRows.map((r) => r.querySelector(".code-line")!.textContent)).toEqual(lines.slice(0, srcRows.length));
    // Highlighted as JavaScript: keywords of the generated code carry the keyword colour.
    const keywordSpans = srcRows.flatMap((r) => [...r.querySelectorAll<HTMLElement>(".code-line span")]).filter((s) => s.style.color === "var(--shiki-token-keyword)");
    expect(keywordSpans.map((s) => s.textContent)).toEqual(expect.arrayContaining(["const"]));
    // "show in IR" posts the equations this kernel fused in the optimised jaxpr.
    click(rowsOf(root, "eqns")[0].querySelector(".show-in-ir")!);
    expect(posted[posted.length - 1]).toEqual({ type: "showInIr", irRecordId: small.irRecordId, optimized: true, eqns: js.eqns });
    // "Open as text" posts the full source as JavaScript.
    click(srcHead.querySelector(".open-text")!);
    const open = posted[posted.length - 1] as Extract<PanelToHost, { type: "openText" }>;
    expect([open.type, open.language, open.text]).toEqual(["openText", "javascript", js.source]);
    expect(open.title).toContain(js.name);
    // The program's source link reveals the line of this file that called it (the last call).
    click(rowsOf(root, "program")[0].querySelector(".source-link")!);
    const reveal = posted[posted.length - 1] as Extract<PanelToHost, { type: "revealSource" }>;
    expect(reveal.type).toBe("revealSource");
    expect(reveal.source.file).toBe(__filename);
    expect([lineOf("scale"), lineOf("scale") + 1]).toContain(reveal.source.line);
    // Link clicks do not toggle the row they sit in.
    expect(rowsOf(root, "program")[0].getAttribute("aria-expanded")).toBe("true");
    // Refresh.
    click(root.querySelector(".refresh")!);
    expect(posted[posted.length - 1]).toEqual({ type: "refresh" });
  });

  it("shows a library step without source and timing off when the kernel timed nothing", async () => {
    harness = await start();
    const { root } = harness;
    const untimed = { ...data, records: data.records.map((r) => ({ ...r, timingOn: false, steps: r.steps.map((s) => ({ ...s, timing: { calls: 0, totalMs: 0, lastMs: 0 } })) })) };
    send({ type: "kernelRecords", data: untimed, devices: cpuDevices(), kernel: "idle" });
    expect(rowsOf(root, "program")[1].querySelector(".prog-stats")!.textContent).toContain("timing off");
    click(rowsOf(root, "program")[1]);
    const lib = mlp.steps.find((s) => s.kind === "library")!;
    const libRow = rowsOf(root, "step").find((r) => r.querySelector(".step-name")!.textContent === lib.name)!;
    expect(libRow.querySelector(".step-time")!.textContent).toBe("timing off");
    click(libRow);
    const details = rowsOf(root, "detail").map((r) => r.textContent);
    expect(details).toContain("time:timing off");
    expect(details).toContain("source:none: a library routine of the backend");
    expect(rowsOf(root, "eqn")[0].textContent).toContain("dot_general");
  });
});

// ---- synthetic records: size, devices, state ---------------------------------------------------

function synthStep(i: number, sourceLines: number): KernelStepInfo {
  const src = Array.from({ length: sourceLines }, (_, j) => `  let v${j}: f32 = in0[gid.x + ${j}u] * 2.0;`).join("\n");
  return {
    index: i, kind: "kernel", name: `k${i}_mul`, source: src, language: "wgsl", ir: `kernel k${i}\n  a = load in0\n  store out a`,
    eqns: [i], eqnText: [`b${i}:f32[1024] = mul a${i} 2.0:f32[]`], launchShape: [1024], elements: 1024,
    workgroupSize: [64, 1, 1], dispatch: [16, 1, 1],
    bindings: [
      { binding: 0, name: "in0", access: "read", aval: "f32[1024]", bytes: 4096 },
      { binding: 1, name: "out", access: "write", aval: "f32[1024]", bytes: 4096 },
    ],
    timing: { calls: 3, totalMs: 0.3, lastMs: 0.1 },
  };
}

function synthRecords(programs: number, steps: number, bigSource: number): KernelRecordsResult {
  const records: KernelProgramRecord[] = [];
  for (let p = programs - 1; p >= 0; p--)
    records.push({
      id: p, name: `prog${p}`, platform: "webgpu", adapter: "llvmpipe (LLVM 15.0.7, 256 bits)", source: { file: "/w/train.ts", line: p + 1, column: 3 },
      irRecordId: 1000 + p, counts: { kernels: steps, library: 0, aliases: 0 }, eqnCount: steps, peakTempBytes: 8192, compileMs: 12.5, calls: 3,
      cacheHit: p % 2 ? "optimized" : null, timingOn: true,
      steps: Array.from({ length: steps }, (_, i) => synthStep(i, p === programs - 1 && i === 0 ? bigSource : 40)),
    });
  return { records, total: programs };
}

const gpuDevice: DeviceInfo = {
  id: "webgpu:0", platform: "webgpu", kind: "llvmpipe (LLVM 15.0.7, 256 bits)", adapter: "llvmpipe (LLVM 15.0.7, 256 bits)",
  limits: { maxComputeWorkgroupSizeX: 256, maxStorageBufferBindingSize: 134217728, maxBufferSize: 268435456 },
  features: ["shader-f16", "timestamp-query"],
};

describe("kernels panel with 200 programs of 50 steps", () => {
  const data = synthRecords(200, 50, 6000);

  it("keeps the DOM bounded while expanding everything, and renders a source only when its step opens", async () => {
    harness = await start();
    const { root, view, posted } = harness;
    send({ type: "kernelRecords", data, devices: [gpuDevice], kernel: "idle" });
    expect(view.getRows()).toHaveLength(200);
    expect(view.list.renderedCount()).toBeLessThanOrEqual(60);
    // Open every program: 200 × (1 + 50) rows, still a bounded DOM.
    click(root.querySelector(".expand-all")!);
    expect(view.getRows()).toHaveLength(200 * 51);
    expect(view.list.renderedCount()).toBeLessThanOrEqual(60);
    expect(rowsOf(root, "source-line")).toHaveLength(0);
    // Scroll to the last program's last step.
    view.list.scrollToIndex(200 * 51 - 1, "center");
    const last = rows(root).pop()!;
    expect(last.querySelector(".step-name")!.textContent).toBe("k49_mul");
    expect(view.list.renderedCount()).toBeLessThanOrEqual(60);
    // Open the newest program's first step: its 6,000-line WGSL source becomes 6,000 rows, of
    // which only the window is in the DOM, highlighted as far as it is shown.
    view.list.scrollToIndex(0, "start");
    const step0 = rowsOf(root, "step")[0];
    expect(step0.querySelector(".step-name")!.textContent).toBe("k0_mul");
    click(step0);
    expect(view.getRows().length).toBeGreaterThan(200 * 51 + 6000);
    expect(view.list.renderedCount()).toBeLessThanOrEqual(60);
    const src = rowsOf(root, "source-line");
    expect(src.length).toBeGreaterThan(0);
    expect(src[0].querySelector(".line-number")!.textContent).toBe("1");
    expect([...src[0].querySelectorAll<HTMLElement>(".code-line span")].some((s) => s.style.color === "var(--shiki-token-keyword)")).toBe(true);
    // Details of a WebGPU step: workgroup size, dispatch, bindings.
    expect(rowsOf(root, "detail")[0].textContent).toBe("launch:[1024], 1,024 elements · workgroup size [64, 1, 1] · dispatch [16, 1, 1]");
    expect(rowsOf(root, "binding").map((r) => r.textContent)).toEqual(["@binding(0)in0readf32[1024]4.00 KiB", "@binding(1)outwritef32[1024]4.00 KiB"]);
    // Deep in the source: line 5,000 is there when scrolled to, plain or coloured, never missing.
    const i5000 = view.getRows().findIndex((r) => r.kind === "source-line" && r.line === 4999);
    view.list.scrollToIndex(i5000, "center");
    const deep = rows(root).find((r) => Number(r.dataset.index) === i5000)!;
    expect(deep.querySelector(".line-number")!.textContent).toBe("5000");
    expect(deep.querySelector(".code-line")!.textContent).toBe("  let v4999: f32 = in0[gid.x + 4999u] * 2.0;");
    expect(view.list.renderedCount()).toBeLessThanOrEqual(60);
    // The background tokenizer colours it in time.
    await new Promise<void>((resolve) => {
      const poll = () => (rows(root).find((r) => Number(r.dataset.index) === i5000)!.dataset.plain ? setTimeout(poll, 20) : resolve());
      poll();
    });
    const coloured = rows(root).find((r) => Number(r.dataset.index) === i5000)!;
    expect([...coloured.querySelectorAll<HTMLElement>(".code-line span")].some((s) => s.style.color === "var(--shiki-token-keyword)")).toBe(true);
    // show in IR from a synthetic record posts its irRecordId.
    view.list.scrollToIndex(0, "start");
    click(rowsOf(root, "eqns")[0].querySelector(".show-in-ir")!);
    expect(posted[posted.length - 1]).toEqual({ type: "showInIr", irRecordId: 1199, optimized: true, eqns: [0] });
  });

  it("shows the adapter, its limits and features in the header", async () => {
    harness = await start();
    const { root } = harness;
    send({ type: "kernelRecords", data: { records: data.records.slice(0, 3), total: 200 }, devices: [gpuDevice, ...cpuDevices()], kernel: "busy" });
    const devs = [...root.querySelectorAll(".device")];
    expect(devs).toHaveLength(2);
    expect(devs[0].querySelector(".device-adapter")!.textContent).toBe("llvmpipe (LLVM 15.0.7, 256 bits)");
    expect([...devs[0].querySelectorAll(".device-limits tr")].map((r) => r.textContent)).toEqual([
      "maxComputeWorkgroupSizeX256", "maxStorageBufferBindingSize134,217,728", "maxBufferSize268,435,456",
    ]);
    expect([...devs[0].querySelectorAll(".feature")].map((f) => f.textContent)).toEqual(["shader-f16", "timestamp-query"]);
    expect(devs[1].textContent).toContain("4 threads");
    expect(root.querySelector(".program-count")!.textContent).toBe("3 of 200 programs (newest first)");
    expect(root.querySelector(".state-badge")!.textContent).toBe("kernel busy");
    expect(rowsOf(root, "program")[0].querySelector<HTMLElement>(".badge.platform")!.title).toBe("runs on llvmpipe (LLVM 15.0.7, 256 bits)");
    expect(rowsOf(root, "program")[0].querySelector(".badge.cache")!.textContent).toBe("cached (optimized)");
  });

  it("restores expansion, focus and scroll from the saved state, and navigates with the keyboard", async () => {
    harness = await start();
    const first = harness;
    send({ type: "kernelRecords", data, devices: [gpuDevice], kernel: "idle" });
    const tree = first.root.querySelector<HTMLElement>(".kernels-list")!;
    const key = (k: string) => tree.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true }));
    // Keyboard: Right opens the focused program, Down moves into its steps, Right opens a step,
    // Left on a detail goes to its step, Left again closes it.
    key("ArrowRight");
    expect(first.view.getRows()).toHaveLength(200 + 50);
    key("ArrowDown");
    key("ArrowRight");
    expect(first.view.getRows()[2].kind).toBe("detail");
    key("ArrowDown");
    expect(tree.getAttribute("aria-activedescendant")).toBe("krow-2");
    key("ArrowLeft");
    expect(tree.getAttribute("aria-activedescendant")).toBe("krow-1");
    key("ArrowLeft");
    expect(first.view.getRows()).toHaveLength(250);
    // Collapse all; Home, Right, Down, Right: the newest program and its first step open again.
    click(first.root.querySelector(".collapse-all")!);
    expect(first.view.getRows()).toHaveLength(200);
    key("End");
    expect(tree.getAttribute("aria-activedescendant")).toBe("krow-199");
    for (const k of ["Home", "ArrowRight", "ArrowDown", "ArrowRight"]) key(k);
    expect(first.view.getRows()[2].kind).toBe("detail");
    // Open a program further down and scroll.
    const i = first.view.getRows().findIndex((r) => r.kind === "program" && r.rec.id === 150);
    first.view.toggle(i, true);
    first.view.list.setScrollTop(2000);
    first.view.save();
    const saved = first.state.v as { programs: number[]; steps: string[]; scrollTop: number };
    expect(saved.programs.sort()).toEqual([150, 199]);
    expect(saved.steps).toEqual(["199:0"]);
    expect(saved.scrollTop).toBe(2000);
    first.dispose();
    clear(document.body);
    // A reloaded panel: same rows, same scroll offset once the records arrive.
    harness = await start(saved);
    send({ type: "kernelRecords", data, devices: [gpuDevice], kernel: "idle" });
    expect(harness.view.getRows().map((r) => r.kind)).toEqual(first.view.getRows().map((r) => r.kind));
    expect(harness.view.list.getScrollTop()).toBe(2000);
    expect(rows(harness.root)[0].dataset.index).toBe(String(Math.floor(2000 / 22) - 10));
  });

  it("shows the kernel's empty states", async () => {
    harness = await start();
    const { root } = harness;
    send({ type: "empty", reason: "The kernel is not running.", kernel: "stopped" });
    expect(root.querySelector(".empty-title")!.textContent).toBe("The kernel is not running.");
    send({ type: "kernelRecords", data: { records: [], total: 0 }, devices: [], kernel: "idle" });
    expect(root.querySelector(".empty-title")!.textContent).toMatch(/No compiled programs yet/);
    send({ type: "kernelRecords", data: synthRecords(2, 1, 3), devices: [], kernel: "idle" });
    expect(root.querySelector(".empty-title")).toBeNull();
    expect(rowsOf(root, "program")).toHaveLength(2);
  });
});
