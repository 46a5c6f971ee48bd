// Debug Cell: the kernel's inspector is opened and VS Code's JavaScript debugger attaches;
// a breakpoint set in the `.ts` cell file binds through the cell's source map and stops on
// the right line; an NDArray reads as dtype[shape] and its values; continuing finishes the
// run with the cell's value. The kernel keeps the state of cells run before.
import * as assert from "node:assert/strict";
import * as vscode from "vscode";
import type { RunRecord } from "../../../src/results";
import { assertOk, lineOf, openAt, primal, runCommand, until, writeCells } from "./primal-helpers";

const CELLS = `// %% setup
import { np } from "primal";
const base = 10;

// %% debug me
const dbgX = np.arange(6).reshape([2, 3]);
const dbgY = dbgX.mul(2);
dbgY.sum().add(base)
`;

suite("Debug Cell", () => {
  teardown(async () => {
    vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
    const api = await primal();
    await api.debug.detach();
  });

  test("a breakpoint in the cell file binds and stops; arrays are readable; continue finishes the run", async () => {
    const api = await primal();
    const file = writeCells("dbg.ts", CELLS);
    const ed = await openAt(file, 2);
    assertOk((await runCommand("primal.runCell", 1))[0]);
    const pid = api.kernel.pid;
    const bpLine = lineOf(CELLS, "const dbgY");
    vscode.debug.addBreakpoints([new vscode.SourceBreakpoint(new vscode.Location(ed.document.uri, new vscode.Position(bpLine - 1, 0)))]);
    const stopsBefore = api.debug.stops.length;
    const running = vscode.commands.executeCommand<RunRecord[]>("primal.debugCell", ed.document.uri, 1);
    const stop = await until("the debugger to stop in dbg.ts", () => api.debug.stops.slice(stopsBefore).find((s) => s.path.endsWith("dbg.ts")), 30000).catch((e) => {
      const s = vscode.debug.activeDebugSession;
      console.log(`session: ${s?.name} ${s?.type} parent=${s?.parentSession?.name}; item: ${JSON.stringify(vscode.debug.activeStackItem)}; last run: ${JSON.stringify(api.results.records.at(-1))}`);
      console.log(`stops: ${JSON.stringify(api.debug.stops)}\nlog:\n${api.logText().slice(-3000)}`);
      throw e;
    });
    assert.equal(stop.line, bpLine, `stopped at ${stop.path}:${stop.line}`);
    assert.equal(api.kernel.pid, pid, "Debug Cell keeps the kernel (and its state)");
    assert.ok(api.debug.attached);
    // Evaluate in the paused frame, as the Variables view and hovers do.
    const item = await until("a paused stack frame", () => {
      const s = vscode.debug.activeStackItem;
      return s instanceof vscode.DebugStackFrame ? s : undefined;
    });
    const r = await item.session.customRequest("evaluate", { expression: "dbgX", frameId: item.frameId, context: "hover" });
    assert.match(String(r.result), /^int32\[2,3\] Array\(\[\[0, 1, 2\],\s*\[3, 4, 5\]\], dtype=int32\)/);
    const b = await item.session.customRequest("evaluate", { expression: "base", frameId: item.frameId, context: "hover" });
    assert.equal(b.result, "10", "state of the earlier cell is visible");
    await vscode.commands.executeCommand("workbench.action.debug.continue");
    const [rec] = await running;
    assertOk(rec);
    // 2*(0+1+...+5) + 10 = 40
    assert.equal(rec.result?.value, "Array(40, dtype=int32)");
    assert.equal(rec.debug, true);
  });
});
