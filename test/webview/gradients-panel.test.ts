// @vitest-environment happy-dom
//
// The gradients panel rendering records the real kernel produced: a small MLP trained eagerly
// with valueAndGrad over a params object {w1, b1, w2}, with recording on (as the kernel process
// has it), its records sent to the panel through the bridge exactly as the extension sends them
// (JSON round trip, validated by the bridge). The numbers on the page are compared with float64
// recomputations from the gradient arrays the training loop got back, never with values the panel
// printed once; NaN/Inf come from a loss that really produces them (sqrt at 0, log of 0); the
// check action's results come from the kernel's checkGrads on a correct and on a deliberately
// wrong custom derivative.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { NDArray } from "../../kernel/core/ndarray";
import { customJvp, grad, jit, np, valueAndGrad, vmap } from "../../kernel/index";
import type { CheckGradsResult, GradientRecord, GradientRecordsResult, HostToPanel, PanelToHost } from "../../kernel/protocol";
import { RunContext, checkGradsRecord, clearInspectRecords, gradientRecords, setInspectRecording } from "../../kernel/server/inspect-records";
import { connect } from "../../webview/common/bridge";
import { fmtNum } from "../../webview/common/dom";
import { VIRTUAL_ROW_HEIGHT } from "../../webview/gradients/leaf-table";
import { EMPTY_HINT, GradientsPanel } from "../../webview/gradients/panel";

// ---- the kernel side ----------------------------------------------------------------------------

let run: RunContext | null = null;
beforeAll(() => {
  setInspectRecording(true, () => run);
  clearInspectRecords();
});
afterAll(() => setInspectRecording(false));

const f32 = (xs: number[] | number[][]) => np.array(xs, { dtype: "float32" });
type Params = { w1: NDArray; b1: NDArray; w2: NDArray };

/** Gradient records once every leaf's statistics have arrived (device reads are asynchronous; on the CPU they are immediate, but the test must not rely on it). */
async function settledRecords(): Promise<GradientRecordsResult> {
  for (let i = 0; i < 200; i++) {
    const r = gradientRecords();
    if (!r.records.some((g) => g.last.leaves.some((l) => l.missing === "pending device read"))) return r;
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error("gradient statistics never arrived");
}

function loss(params: Params, x: NDArray, y: NDArray) {
  const h = np.tanh(np.dot(x, params.w1).add(params.b1));
  return np.mean(np.square(np.dot(h, params.w2).sub(y)));
}

const STEPS = 6;
interface Trained {
  losses: number[];
  /** Per step, per leaf name, the gradient's values as the loop got them. */
  grads: Record<keyof Params, number[]>[];
}

/** An eager training loop: STEPS steps of plain gradient descent on the CPU backend. */
function train(): Trained {
  const vg = valueAndGrad(loss);
  let params: Params = {
    w1: f32([[0.1, -0.2, 0.3, 0.05], [0.4, 0.5, -0.6, 0.2], [-0.3, 0.1, 0.2, -0.1]]),
    b1: f32([0, 0.1, 0, -0.1]),
    w2: f32([[0.1], [0.2], [0.3], [-0.4]]),
  };
  const x = f32([[1, 2, 0.5], [3, 4, -1], [5, 6, 0], [0, 1, 2], [-1, 0.5, 1]]);
  const y = f32([[1], [0], [1], [0], [1]]);
  const out: Trained = { losses: [], grads: [] };
  for (let i = 0; i < STEPS; i++) {
    const [v, g] = vg(params, x, y) as [NDArray, Params];
    out.losses.push(v.item() as number);
    out.grads.push({ w1: [...(g.w1.dataSync() as Float32Array)], b1: [...(g.b1.dataSync() as Float32Array)], w2: [...(g.w2.dataSync() as Float32Array)] });
    params = { w1: params.w1.sub(g.w1.mul(0.5)), b1: params.b1.sub(g.b1.mul(0.5)), w2: params.w2.sub(g.w2.mul(0.5)) };
  }
  return out;
}

/** The float64 L2 norm of values, written plainly. */
const norm64 = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + x * x, 0));

// ---- the panel side -----------------------------------------------------------------------------

interface Page {
  root: HTMLElement;
  panel: GradientsPanel;
  posted: PanelToHost[];
  saved: { state: unknown };
  /** Delivers a message as the extension does: serialised, through the page's message event, validated by the bridge. */
  send(m: HostToPanel): void;
  dispose(): void;
}

const pages: Page[] = [];
afterEach(() => {
  for (const p of pages.splice(0)) p.dispose();
});

function openPage(saved: { state: unknown } = { state: undefined }): Page {
  const posted: PanelToHost[] = [];
  (globalThis as { __primalTestApi?: unknown }).__primalTestApi = {
    postMessage: (m: unknown) => posted.push(JSON.parse(JSON.stringify(m)) as PanelToHost),
    getState: () => saved.state,
    setState: (s: unknown) => (saved.state = JSON.parse(JSON.stringify(s))),
  };
  const root = document.createElement("div");
  document.body.append(root);
  let panel: GradientsPanel | null = null;
  const bridge = connect("gradients", (m) => panel!.onMessage(m));
  panel = new GradientsPanel(root, bridge);
  const page: Page = {
    root, panel, posted, saved,
    send: (m) => window.dispatchEvent(new MessageEvent("message", { data: JSON.parse(JSON.stringify(m)) })),
    dispose: () => {
      bridge.dispose();
      panel!.dispose();
      root.remove();
    },
  };
  pages.push(page);
  return page;
}

const recordsMessage = (data: GradientRecordsResult): HostToPanel => ({ type: "gradientRecords", data, kernel: "idle" });
const section = (p: Page, id: number) => p.root.querySelector<HTMLElement>(`section.grad-record[data-record-id="${id}"]`)!;
const cellsOf = (row: Element) => [...row.children].map((c) => c.textContent ?? "");
const leafRows = (el: Element) => [...el.querySelectorAll("vscode-data-grid-row.leaf-row, .leaf-vrow")];
/** The points a sparkline draws: polyline vertices plus isolated points. */
function sparkPoints(svg: Element): number {
  const line = [...svg.querySelectorAll("polyline")].reduce((a, l) => a + (l.getAttribute("points") ?? "").trim().split(/\s+/).filter(Boolean).length, 0);
  return line + svg.querySelectorAll("circle.spark-point").length;
}
const click = (el: Element) => el.dispatchEvent(new MouseEvent("click", { bubbles: true, cancelable: true }));

// ---- tests --------------------------------------------------------------------------------------

describe("gradients panel", () => {
  let trained: Trained;
  let data: GradientRecordsResult;
  let rec: GradientRecord;

  beforeAll(async () => {
    clearInspectRecords();
    run = { runId: "run-1", file: "/ws/train.ts", cell: 2 };
    trained = train();
    data = await settledRecords();
    rec = data.records[0];
  });

  it("shows one row per parameter leaf with its path, shape and the float64 norm of the gradient", () => {
    const p = openPage();
    expect(p.posted[0]).toEqual({ type: "ready" });
    p.send(recordsMessage(data));
    const s = section(p, rec.id);
    expect(s.classList.contains("current")).toBe(true);
    expect(s.querySelector(".record-name")!.textContent).toBe("loss");
    expect(s.querySelector(".kind-tag")!.textContent).toBe("valueAndGrad");
    expect(s.querySelector(".calls-badge")!.textContent).toBe(String(STEPS));
    // The last run's record is open by default: its data grid is there, with one row per leaf.
    const grid = s.querySelector("vscode-data-grid.leaf-grid")!;
    expect(grid).not.toBeNull();
    const rows = leafRows(grid);
    expect(rows).toHaveLength(3);
    const last = trained.grads[STEPS - 1];
    const want: Record<string, { shape: string; values: number[] }> = {
      "params.w1": { shape: "[3,4]", values: last.w1 },
      "params.b1": { shape: "[4]", values: last.b1 },
      "params.w2": { shape: "[4,1]", values: last.w2 },
    };
    expect(rows.map((r) => cellsOf(r)[0]).sort()).toEqual(Object.keys(want).sort());
    for (const row of rows) {
      const cells = [...row.children] as HTMLElement[];
      const w = want[cells[0].textContent!];
      expect(cells[1].textContent).toBe(w.shape);
      expect(cells[2].textContent).toBe("float32");
      // The norm cell carries the exact value in its title and shows it formatted.
      const shown = Number(cells[3].title);
      expect(Number.isFinite(shown)).toBe(true);
      expect(shown).toBeGreaterThan(0);
      expect(Math.abs(shown - norm64(w.values))).toBeLessThan(1e-12 * Math.max(1, norm64(w.values)));
      expect(cells[3].textContent).toBe(fmtNum(norm64(w.values)));
      // min / max / mean against the same arrays.
      expect(Number(cells[4].title)).toBe(Math.min(...w.values));
      expect(Number(cells[5].title)).toBe(Math.max(...w.values));
      expect(Number(cells[6].title)).toBeCloseTo(w.values.reduce((a, b) => a + b, 0) / w.values.length, 14);
      // No NaN/Inf here: plain zero counts, no badge, no error colour.
      expect([cells[8].textContent, cells[9].textContent]).toEqual(["0", "0"]);
      expect(row.classList.contains("bad-row")).toBe(false);
      // A histogram of all the elements, and the leaf's norm over the steps.
      const bars = [...cells[10].querySelectorAll("rect.hist-bar")];
      expect(bars).toHaveLength(20);
      expect(bars.map((b) => Number(b.querySelector("title")!.textContent!.split(": ")[1])).reduce((a, b) => a + b, 0)).toBe(w.values.length);
      expect(sparkPoints(cells[11].querySelector("svg")!)).toBe(STEPS);
    }
    // The header's loss is the last step's loss; the global norm is the norm over all leaves.
    const metrics = [...s.querySelectorAll(".metric")];
    expect(metrics[0].getAttribute("title")).toContain(String(trained.losses[STEPS - 1]));
    const global = norm64([...last.w1, ...last.b1, ...last.w2]);
    expect(Number(metrics[1].getAttribute("title")!.split(": ")[1])).toBeCloseTo(global, 12);
  });

  it("draws the loss and the gradient norm over the steps, one point per step", () => {
    const p = openPage();
    p.send(recordsMessage(data));
    const s = section(p, rec.id);
    const lossSvg = s.querySelector(".loss-chart svg")!;
    const normSvg = s.querySelector(".norm-chart svg")!;
    expect(sparkPoints(lossSvg)).toBe(STEPS);
    expect(sparkPoints(normSvg)).toBe(STEPS);
    // The line goes where the losses go: gradient descent lowers the loss here, so the last point
    // is the lowest (largest y in SVG coordinates) and the first the highest.
    expect(trained.losses[STEPS - 1]).toBeLessThan(trained.losses[0]);
    const ys = lossSvg.querySelector("polyline")!.getAttribute("points")!.split(" ").map((pt) => Number(pt.split(",")[1]));
    const order = (xs: number[]) => xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
    expect(order(ys)).toEqual(order(trained.losses.map((l) => -l)));
    expect(s.querySelector(".loss-chart figcaption")!.textContent).toContain(`steps 1–${STEPS}`);
  });

  it("reveals the call's source line and opens the backward jaxpr in the IR panel", () => {
    const p = openPage();
    p.send(recordsMessage(data));
    const s = section(p, rec.id);
    const link = s.querySelector(".source-link")!;
    expect(link.textContent).toContain("cell 3");
    click(link);
    expect(p.posted.at(-1)).toEqual({ type: "revealSource", source: rec.source });
    expect(rec.source!.file).toMatch(/gradients-panel\.test\.ts$/);
    // Clicking the link did not fold the record.
    expect(section(p, rec.id).querySelector(".record-body")).not.toBeNull();
    expect(rec.irRecordId).toBeDefined();
    click(s.querySelector(".ir-link")!);
    expect(p.posted.at(-1)).toEqual({ type: "showInIr", irRecordId: rec.irRecordId, optimized: false, eqns: [] });
  });

  it("highlights NaN and infinite gradients (sqrt at 0, log of 0) with counts equal to the arrays'", async () => {
    run = { runId: "run-2", file: "/ws/train.ts", cell: 3 };
    const vg = valueAndGrad(function broken(params: Params) {
      // d/dw sqrt(w * m) at m = 0 is 0 * inf = NaN; d/dw log(w) at w = 0 is inf.
      const mask = f32([[1, 0, 1, 1], [0, 1, 1, 1], [1, 1, 1, 0]]);
      return np.sqrt(params.w1.mul(mask)).sum().add(np.log(params.w2).sum()).add(params.b1.sum());
    });
    // (Not named `params`: esbuild, which transpiles this file, would rename the loss's parameter
    // to avoid the clash, and the leaf paths come from the function's source text.)
    const at = { w1: f32([[1, 2, 3, 4], [5, 6, 7, 8], [1, 1, 1, 1]]), b1: f32([1, 2, 3, 4]), w2: f32([[1], [0], [2], [0]]) };
    const [, g] = vg(at) as [NDArray, Params];
    const count = (a: NDArray, pred: (x: number) => boolean) => [...(a.dataSync() as Float32Array)].filter(pred).length;
    const nanW1 = count(g.w1, Number.isNaN);
    const infW2 = count(g.w2, (x) => x === Infinity || x === -Infinity);
    expect([nanW1, infW2]).toEqual([3, 2]);
    const d = await settledRecords();
    const bad = d.records.find((r) => r.name === "broken")!;
    const p = openPage();
    p.send(recordsMessage(d));
    const s = section(p, bad.id);
    expect(s.classList.contains("has-bad")).toBe(true);
    expect(s.querySelector(".record-header .bad-badge")!.textContent).toBe(`NaN ${nanW1} · Inf ${infW2}`);
    const rows = leafRows(s);
    const byPath = new Map(rows.map((r) => [cellsOf(r)[0], r]));
    const w1 = [...byPath.get("params.w1")!.children] as HTMLElement[];
    const w2 = [...byPath.get("params.w2")!.children] as HTMLElement[];
    const b1 = byPath.get("params.b1")!;
    expect(byPath.get("params.w1")!.classList.contains("bad-row")).toBe(true);
    expect(byPath.get("params.w2")!.classList.contains("bad-row")).toBe(true);
    expect(b1.classList.contains("bad-row")).toBe(false);
    // NaN count: a badge in the error colour; the norm of a leaf with NaN is NaN, shown as such.
    expect(w1[8].classList.contains("bad")).toBe(true);
    expect(w1[8].querySelector(".bad-badge")!.textContent).toBe(String(nanW1));
    expect(w1[3].textContent).toBe("NaN");
    expect(w1[3].classList.contains("bad")).toBe(true);
    expect(w2[9].querySelector(".bad-badge")!.textContent).toBe(String(infW2));
    expect(w2[9].classList.contains("bad")).toBe(true);
    expect(w2[3].textContent).toBe("Inf");
    // The histogram counts only the finite elements.
    const finiteW1 = 12 - nanW1;
    const bars = [...w1[10].querySelectorAll("rect.hist-bar")];
    expect(bars.map((b) => Number(b.querySelector("title")!.textContent!.split(": ")[1])).reduce((a, b) => a + b, 0)).toBe(finiteW1);
    // The previous run's training record is now an earlier run: dimmed, under the divider, closed.
    const earlier = section(p, rec.id);
    expect(earlier.classList.contains("earlier")).toBe(true);
    expect(earlier.querySelector(".record-body")).toBeNull();
    const all = [...p.root.querySelectorAll(".records > *")];
    expect(all.indexOf(p.root.querySelector(".earlier-divider")!)).toBeLessThan(all.indexOf(earlier));
    expect(all.indexOf(s)).toBeLessThan(all.indexOf(p.root.querySelector(".earlier-divider")!));
  });

  it("posts checkGrads, shows a progress ring, then renders the kernel's pass and fail results", async () => {
    run = { runId: "run-3", file: "/ws/train.ts", cell: 4 };
    clearInspectRecords();
    train();
    // A softplus with a wrong derivative (twice the true one): its gradients fail the check.
    const softplus = customJvp(function softplus(x: NDArray) {
      return np.log(np.exp(x).add(1));
    });
    softplus.defjvp(([x]: NDArray[], [t]: NDArray[]) => [softplus(x), t.mul(2).div(np.exp(x.neg()).add(1))]);
    const wrong = valueAndGrad(function wrongLoss(params: { w: NDArray }) {
      return softplus(params.w).sum();
    });
    wrong({ w: f32([0.5, -1, 2]) });
    const d = await settledRecords();
    const good = d.records.find((r) => r.name === "loss")!;
    const badRec = d.records.find((r) => r.name === "wrongLoss")!;
    const p = openPage();
    p.send(recordsMessage(d));

    const button = section(p, good.id).querySelector("vscode-button.check-button")!;
    expect(button.textContent).toBe("Check gradients");
    click(button);
    expect(p.posted.at(-1)).toEqual({ type: "checkGrads", recordId: good.id });
    let s = section(p, good.id);
    expect(s.querySelector("vscode-progress-ring")).not.toBeNull();
    expect(s.querySelector("vscode-button.check-button")!.hasAttribute("disabled")).toBe(true);
    // A second click while it runs posts nothing more.
    const n = p.posted.length;
    click(s.querySelector("vscode-button.check-button")!);
    expect(p.posted.length).toBe(n);

    const pass: CheckGradsResult = checkGradsRecord({ recordId: good.id });
    expect(pass.ok).toBe(true);
    p.send({ type: "checkGradsResult", result: pass });
    s = section(p, good.id);
    expect(s.querySelector("vscode-progress-ring")).toBeNull();
    const res = s.querySelector(".check-result")!;
    expect(res.classList.contains("check-pass")).toBe(true);
    expect(res.querySelector(".check-verdict")!.textContent).toMatch(/match/);
    expect(res.querySelector(".check-params")!.textContent).toContain(`eps ${fmtNum(pass.eps)} · order 1`);
    const checkRows = [...res.querySelectorAll(".check-row")];
    expect(checkRows.map((r) => cellsOf(r)[0]).sort()).toEqual(["params.b1", "params.w1", "params.w2"]);
    for (const r of checkRows) {
      const leaf = pass.leaves!.find((l) => l.path === cellsOf(r)[0])!;
      expect(cellsOf(r)[1]).toBe(fmtNum(leaf.worst));
      expect(Number(leaf.worst)).toBeLessThanOrEqual(1);
      // The autodiff and numeric directional derivatives agree to the check's tolerance.
      expect(Math.abs(Number(cellsOf(r)[2]) - Number(cellsOf(r)[3]))).toBeLessThan(1e-2 * (1 + Math.abs(Number(leaf.numeric))));
    }
    // The loss record's leaf grid is still there, untouched by the check.
    expect(leafRows(s)).toHaveLength(3);
    // Training on (a live update) keeps the result, saying it was for an older call.
    train();
    p.send(recordsMessage(await settledRecords()));
    s = section(p, good.id);
    expect(s.querySelector(".check-result.check-pass")).not.toBeNull();
    expect(s.querySelector(".check-stale")!.textContent).toBe(`(checked call ${STEPS}; now ${2 * STEPS})`);
    expect(s.querySelector(".calls-badge")!.textContent).toBe(String(2 * STEPS));

    click(section(p, badRec.id).querySelector("vscode-button.check-button")!);
    expect(p.posted.at(-1)).toEqual({ type: "checkGrads", recordId: badRec.id });
    const fail = checkGradsRecord({ recordId: badRec.id });
    expect(fail.ok).toBe(false);
    p.send({ type: "checkGradsResult", result: fail });
    const fres = section(p, badRec.id).querySelector(".check-result")!;
    expect(fres.classList.contains("check-fail")).toBe(true);
    expect(fres.querySelector(".check-message")!.textContent).toBe(fail.message);
    const frow = fres.querySelector(".check-row")!;
    expect(frow.classList.contains("bad-row")).toBe(true);
    expect(cellsOf(frow)[0]).toBe("params.w");
    expect(Number(fail.leaves![0].worst)).toBeGreaterThan(1);
    // Twice the true derivative: the autodiff column is about twice the numeric one.
    expect(Number(fail.leaves![0].autodiff) / Number(fail.leaves![0].numeric)).toBeCloseTo(2, 2);

    // A check that could not run says why (a record id the kernel no longer has).
    const gone = checkGradsRecord({ recordId: 10_000 });
    p.send({ type: "checkGradsResult", result: { ...gone, recordId: good.id } });
    const eres = section(p, good.id).querySelector(".check-result")!;
    expect(eres.classList.contains("check-error")).toBe(true);
    expect(eres.querySelector(".check-message")!.textContent).toBe(gone.message);
  });

  it("keeps the DOM bounded for records of 2,000 leaves and renders rows lazily as the table scrolls", async () => {
    run = { runId: "run-4", file: "/ws/big.ts", cell: 0 };
    clearInspectRecords();
    const leaves = Array.from({ length: 2000 }, (_, i) => f32([i, -i, 0.5]));
    // Leaf i's gradient is (i + 1) everywhere: its norm is sqrt(3) (i + 1).
    const head = (params: NDArray[]) => params.reduce((a, w, i) => a.add(w.mul(i + 1).sum()), f32([0]).sum());
    const tail = (params: NDArray[]) => params.reduce((a, w, i) => a.add(w.mul(i + 1001).sum()), f32([0]).sum());
    grad(head)(leaves);
    const real = (await settledRecords()).records[0];
    // The kernel keeps statistics for its first INSPECT_LIMITS.leaves (1,000) leaves; the panel must
    // also hold up should that cap rise: a 2,000-leaf record made of two real calls' leaves.
    expect(real.last.leaves).toHaveLength(1000);
    grad(tail)(leaves.slice(1000));
    const second = (await settledRecords()).records[0];
    expect(second.last.leaves).toHaveLength(1000);
    const big: GradientRecord = {
      ...real,
      id: real.id + 1000,
      last: { ...real.last, leaves: [...real.last.leaves, ...second.last.leaves.map((l, i) => ({ ...l, path: `params[${1000 + i}]` }))] },
      history: real.history.map((h, k) => ({ ...h, norms: [...h.norms, ...second.history[k].norms] })),
    };
    for (const r of [real, big]) {
      const p = openPage();
      p.send(recordsMessage({ records: [r], total: 1, lastRunId: "run-4" }));
      const s = section(p, r.id);
      expect(s.querySelector("vscode-data-grid")).toBeNull();
      const table = p.panel.view(r.id)!.table!;
      expect(table.list).not.toBeNull();
      const rendered = () => s.querySelectorAll(".leaf-vrow").length;
      const bound = Math.ceil(600 / VIRTUAL_ROW_HEIGHT) + 2 * 8 + 2;
      expect(rendered()).toBeGreaterThan(0);
      expect(rendered()).toBeLessThanOrEqual(bound);
      expect(table.list!.renderedCount()).toBe(rendered());
      expect(s.querySelectorAll("svg").length).toBeLessThanOrEqual(2 * bound + 2);
      expect(s.querySelector(".leaf-vtable")!.getAttribute("aria-rowcount")).toBe(String(r.last.leaves.length + 1));
      // The last leaf is not in the DOM until the table scrolls to it; then it is, still bounded.
      const lastPath = r.last.leaves[r.last.leaves.length - 1].path;
      const paths = () => [...s.querySelectorAll(".leaf-vrow")].map((row) => cellsOf(row)[0]);
      expect(paths()).not.toContain(lastPath);
      table.list!.scrollToIndex(r.last.leaves.length - 1);
      expect(paths()).toContain(lastPath);
      expect(rendered()).toBeLessThanOrEqual(bound);
      // Each row shows its own leaf's norm: sqrt(3) (i + 1) for params[i].
      for (const row of s.querySelectorAll(".leaf-vrow")) {
        const i = Number(/^params\[(\d+)\]$/.exec(cellsOf(row)[0])![1]);
        expect(Number((row.children[3] as HTMLElement).title)).toBeCloseTo(Math.sqrt(3) * (i + 1), 9);
      }
    }
  });

  it("sorts leaves by a clicked column and keeps open records and the sort across a reload", () => {
    const saved = { state: undefined as unknown };
    const p = openPage(saved);
    p.send(recordsMessage(data));
    const s = section(p, rec.id);
    const norms = (root: Element) => leafRows(root).map((r) => Number((r.children[3] as HTMLElement).title));
    const header = [...s.querySelectorAll('vscode-data-grid-cell[cell-type="columnheader"]')].find((c) => c.textContent!.startsWith("L2 norm"))!;
    click(header);
    let got = norms(section(p, rec.id));
    expect(got).toEqual([...got].sort((a, b) => b - a));
    expect(section(p, rec.id).querySelector('[aria-sort="descending"]')!.textContent).toContain("L2 norm");
    click([...section(p, rec.id).querySelectorAll('vscode-data-grid-cell[cell-type="columnheader"]')].find((c) => c.textContent!.startsWith("L2 norm"))!);
    got = norms(section(p, rec.id));
    expect(got).toEqual([...got].sort((a, b) => a - b));
    // Close the record.
    click(section(p, rec.id).querySelector(".record-header")!);
    expect(section(p, rec.id).querySelector(".record-body")).toBeNull();
    expect(section(p, rec.id).querySelector(".record-header")!.getAttribute("aria-expanded")).toBe("false");
    expect(saved.state).toEqual({ expanded: { [rec.id]: false }, sort: { key: "norm", dir: "asc" } });
    // A new page (VS Code reloaded the webview) restores both.
    const q = openPage(saved);
    q.send(recordsMessage(data));
    expect(section(q, rec.id).querySelector(".record-body")).toBeNull();
    click(section(q, rec.id).querySelector(".record-header")!);
    got = norms(section(q, rec.id));
    expect(got).toEqual([...got].sort((a, b) => a - b));
  });

  it("shows the gradients a jitted step computed, and says a traced call has shapes only", async () => {
    run = { runId: "run-5", file: "/ws/jit.ts", cell: 1 };
    clearInspectRecords();
    const x = f32([3, 4]);
    const step = jit((w: NDArray, xs: NDArray) => grad(function inner(ww: NDArray) {
      return ww.mul(xs).sum();
    })(w));
    step(f32([1, 2]), x);
    const g = step(f32([5, 6]), x) as NDArray;
    vmap(grad(function perExample(w: NDArray) {
      return np.sin(w).sum();
    }))(np.ones([4, 3]));
    const d = await settledRecords();
    const p = openPage();
    p.send(recordsMessage(d));

    const jitted = d.records.find((r) => r.name === "inner")!;
    const s = section(p, jitted.id);
    expect(s.querySelector(".origin-tag")!.textContent).toBe("inside jit");
    expect(s.querySelector(".calls-badge")!.textContent).toBe("2");
    const cells = [...leafRows(s)[0].children] as HTMLElement[];
    expect(cells[0].textContent).toBe("ww");
    // The compiled program's gradient, named by the parameter: d/dw sum(w * x) = x, norm 5.
    expect(Number(cells[3].title)).toBeCloseTo(norm64([...(g.dataSync() as Float32Array)]), 12);
    expect(Number(cells[3].title)).toBeCloseTo(5, 6);
    expect(sparkPoints(s.querySelector(".loss-chart svg")!)).toBe(2);

    const traced = d.records.find((r) => r.name === "perExample")!;
    const t = section(p, traced.id);
    expect(t.querySelector(".origin-tag")!.textContent).toBe("traced");
    const tc = [...leafRows(t)[0].children] as HTMLElement[];
    expect(tc.map((c) => c.textContent).slice(0, 4)).toEqual(["w", "[3]", "float32", "traced"]);
    expect(tc[3].classList.contains("missing")).toBe(true);
    expect(t.querySelector(".leaves-note")!.textContent).toMatch(/shapes only/);
    expect(t.querySelector(".loss-chart svg")).toBeNull();
  });

  it("says what to do when nothing is recorded, and ignores malformed messages", () => {
    const p = openPage();
    expect(p.root.textContent).toContain(EMPTY_HINT);
    p.send(recordsMessage({ records: [], total: 0 }));
    expect(p.root.querySelector(".empty-state")!.textContent).toContain(EMPTY_HINT);
    p.send({ type: "empty", reason: "The kernel exited.", kernel: "dead" });
    expect(p.root.querySelector(".empty-state")!.textContent).toContain("The kernel exited.");
    window.dispatchEvent(new MessageEvent("message", { data: { type: "gradientRecords", data: { records: "nope" } } }));
    expect(p.posted.at(-1)).toMatchObject({ type: "log", level: "warn" });
    expect(p.root.querySelector(".empty-state")).not.toBeNull();
  });
});
