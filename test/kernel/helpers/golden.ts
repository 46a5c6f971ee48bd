// Golden files of the code generation tests (compiler-golden*.test.ts): the text the compiler
// makes of a program, compared with test/kernel/golden/<name>.txt; a difference fails with a
// line diff. PRIMAL_UPDATE_GOLDEN=1 rewrites the files instead (then review them).

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ClosedJaxpr } from "../../../kernel/ir/jaxpr";
import { optimize } from "../../../kernel/ir/passes";
import { generateJs } from "../../../kernel/lower/codegen-js";
import { printKernel } from "../../../kernel/lower/kernel-ir";
import { LoweredProgram, lowerProgram } from "../../../kernel/lower/program";

const GOLDEN = join(__dirname, "..", "golden");
const UPDATE = process.env.PRIMAL_UPDATE_GOLDEN === "1";

/** The program jit would run for `cj`: optimised, lowered (pure: no device, nothing runs). */
export function lowerPure(cj: ClosedJaxpr): LoweredProgram {
  return lowerProgram(cj, optimize(cj).jaxpr);
}

/** The compiler's text for a program: the optimised jaxpr, then every step (IR and JS of each kernel). */
export function lowered(cj: ClosedJaxpr): string {
  const p = lowerPure(cj);
  const out = ["=== jaxpr after passes ===", String(p.after), ""];
  p.steps.forEach((s, i) => {
    if (s.kind === "kernel") {
      out.push(`=== step ${i}: kernel ${s.name} ===`, "--- IR ---", printKernel(s.kernel), "--- JS ---", generateJs(s.kernel).trimEnd(), "");
    } else if (s.kind === "library") {
      out.push(`=== step ${i}: library ${s.name} ===`, "");
    } else {
      out.push(`=== step ${i}: alias ${s.name} ===`, "");
    }
  });
  return out.join("\n");
}

/** A line diff (longest common subsequence), changed lines with two lines of context. */
export function lineDiff(want: string, got: string): string {
  const a = want.split("\n");
  const b = got.split("\n");
  const n = a.length;
  const m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Int32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const ops: [" " | "-" | "+", string][] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) (ops.push([" ", a[i]]), i++, j++);
    else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) ops.push(["-", a[i++]]);
    else ops.push(["+", b[j++]]);
  }
  const near = ops.map((_, k) => ops.slice(Math.max(0, k - 2), k + 3).some((o) => o[0] !== " "));
  const lines: string[] = [];
  ops.forEach(([t, l], k) => {
    if (near[k]) lines.push(`${t} ${l}`);
    else if (lines[lines.length - 1] !== "  ...") lines.push("  ...");
  });
  return lines.join("\n");
}

/** Compares `text` with test/kernel/golden/<name>.txt (or rewrites it under PRIMAL_UPDATE_GOLDEN=1). */
export function checkGolden(name: string, text: string): void {
  const file = join(GOLDEN, `${name}.txt`);
  if (UPDATE) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, text);
    return;
  }
  if (!existsSync(file)) throw new Error(`golden file ${file} is missing; create it with PRIMAL_UPDATE_GOLDEN=1 npx vitest run test/kernel/compiler-golden.test.ts`);
  const want = readFileSync(file, "utf8");
  if (want !== text)
    throw new Error(
      `generated code of "${name}" differs from ${file} (- golden, + now):\n${lineDiff(want, text)}\n\n` +
        "If the change is intended, rewrite the golden files with PRIMAL_UPDATE_GOLDEN=1 npx vitest run test/kernel/compiler-golden.test.ts and review them.",
    );
}

