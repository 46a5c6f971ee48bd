// The kernel process's life as the user sees it: Interrupt stops a runaway cell and keeps
// the kernel's state; Restart gives a new process with an empty scope; a cell that kills the
// kernel (process.exit) shows "dead" in the status bar and the results, and the next Run Cell
// starts a new kernel.
import * as assert from "node:assert/strict";
import * as vscode from "vscode";
import type { RunRecord } from "../../../src/results";
import { assertOk, lineOf, openAt, primal, runCommand, until, writeCells } from "./primal-helpers";

const CELLS = `// %% state
const kept = 41;
kept

// %% runaway
let spins = 0;
while (true) { spins++; }

// %% uses state
kept + 1

// %% crash
process.exit(7);
`;

suite("kernel lifecycle", () => {
  let file: string;
  suiteSetup(() => {
    file = writeCells("life.ts", CELLS);
  });

  test("Interrupt stops a synchronous infinite loop and keeps the kernel's state", async () => {
    const api = await primal();
    await openAt(file, 2);
    assertOk((await runCommand("primal.runCell", 1))[0]);
    const pid = api.kernel.pid;
    await openAt(file, lineOf(CELLS, "while (true)"));
    const running = vscode.commands.executeCommand<RunRecord[]>("primal.runCell");
    await until("the kernel is busy", () => api.kernel.state === "busy");
    await until("busy in the status bar", () => /Primal: busy/.test(api.statusBar.texts().kernel));
    await new Promise((r) => setTimeout(r, 300));
    const stopped = await vscode.commands.executeCommand<boolean>("primal.interruptKernel");
    assert.equal(stopped, true, "the cell stopped within the grace period");
    const [rec] = await running;
    assert.equal(rec.status, "interrupted", JSON.stringify(rec.result));
    assert.equal(api.kernel.pid, pid, "interrupt must not restart the kernel");
    await openAt(file, lineOf(CELLS, "kept + 1"));
    const [after] = await runCommand("primal.runCell", 1);
    assertOk(after);
    assert.equal(after.result?.value, "42");
  });

  test("Restart Kernel: a new process with a fresh scope", async () => {
    const api = await primal();
    const before = api.kernel.pid;
    const starts = api.kernel.startCount;
    assert.equal(await vscode.commands.executeCommand("primal.restartKernel"), true);
    assert.notEqual(api.kernel.pid, before);
    assert.equal(api.kernel.startCount, starts + 1);
    assert.match(api.statusBar.texts().kernel, /Primal: idle/);
    await openAt(file, lineOf(CELLS, "kept + 1"));
    const [rec] = await runCommand("primal.runCell", 1);
    assert.equal(rec.status, "error");
    assert.match(`${rec.error?.name}: ${rec.error?.message}`, /kept/);
  });

  test("a cell calling process.exit(): dead in the status bar and the results; the next run starts a new kernel", async () => {
    const api = await primal();
    await openAt(file, lineOf(CELLS, "process.exit"));
    const deadPid = api.kernel.pid;
    const [rec] = await runCommand("primal.runCell", 1);
    assert.equal(rec.status, "crashed", JSON.stringify(rec));
    assert.match(rec.crash!, /exited with code 7/);
    assert.equal(api.kernel.state, "dead");
    assert.match(api.statusBar.texts().kernel, /Primal: dead/);
    const ed = vscode.window.activeTextEditor!;
    const inline = api.results.inlineText.get(ed.document.uri.toString())!.get(3)!;
    assert.equal(inline.error, true);
    assert.match(inline.text, /exited with code 7/);
    assert.match(api.panel.sent.get(rec.runId)!, /Kernel died/);
    // The editor is fine and the next run gets a new kernel.
    await openAt(file, 2);
    const [next] = await runCommand("primal.runCell", 1);
    assertOk(next);
    assert.equal(next.result?.value, "41");
    assert.notEqual(api.kernel.pid, deadPid);
    assert.match(api.statusBar.texts().kernel, /Primal: idle/);
  });

  test("an untrusted workspace: run commands refuse and explain why", async () => {
    const api = await primal();
    api.commands.trustOverride = false;
    try {
      const n = api.results.records.length;
      for (const id of ["primal.runCell", "primal.runFile", "primal.runAbove", "primal.debugCell"]) {
        const recs = await vscode.commands.executeCommand<RunRecord[]>(id);
        assert.deepEqual(recs, [], `${id} ran in an untrusted workspace`);
        assert.match(api.commands.messages.at(-1)!, /not trusted/);
      }
      assert.equal(api.results.records.length, n);
      const caps = vscode.extensions.getExtension("primal-dev.primal")!.packageJSON.capabilities;
      assert.equal(caps.untrustedWorkspaces.supported, "limited");
      assert.deepEqual(caps.untrustedWorkspaces.restrictedConfigurations, ["primal.kernel.env"]);
    } finally {
      api.commands.trustOverride = undefined;
    }
  });
});
