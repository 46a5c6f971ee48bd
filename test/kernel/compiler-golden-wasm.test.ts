// Golden tests of the WebAssembly renderer (kernel/backends/cpu/codegen-wasm.ts): the WAT-like
// listing `generateWasm` gives for the fused kernels of two programs, pinned in
// test/kernel/golden/wasm-<name>.txt like the JS of compiler-golden.test.ts, so changes to the
// wasm code generation are reviewed. generateWasm is pure (kernel in, bytes and text out); the
// bytes are only validated here, nothing is instantiated or run.
//   PRIMAL_UPDATE_GOLDEN=1 npx vitest run test/kernel/compiler-golden-wasm.test.ts

import { describe, expect, it } from "vitest";
import { makeJaxpr, np } from "../../kernel/index";
import { NDArray } from "../../kernel/core/ndarray";
import { generateWasm, wasmSupport } from "../../kernel/backends/cpu/codegen-wasm";
import { validateWasm } from "../../kernel/backends/cpu/wasm-runtime";
import { printKernel } from "../../kernel/lower/kernel-ir";
import { checkGolden, lowerPure } from "./helpers/golden";

const f32 = (shape: number[]) => np.zeros(shape, { dtype: "float32" });

const PROGRAMS: [string, string, (...xs: NDArray[]) => unknown, NDArray[]][] = [
  ["tanh-fma", "tanh(x*2+1)*x over 64x256: a vectorised elementwise kernel", (x) => np.tanh(x.mul(2).add(1)).mul(x), [f32([64, 256])]],
  ["mean-square-axis1", "mean of x*x over axis 1 of 64x256: a float sum along the inner axis, in float64 lanes", (x) => np.mean(x.mul(x), 1), [f32([64, 256])]],
];

describe("golden: WebAssembly kernels (PRIMAL_UPDATE_GOLDEN=1 rewrites test/kernel/golden)", () => {
  for (const [name, what, f, args] of PROGRAMS)
    it(`${name}: ${what}`, () => {
      const p = lowerPure(makeJaxpr(f)(...args));
      const parts = [`# ${what}\n# inputs: ${args.map((a) => a.aval.str()).join(", ")}\n`];
      let rendered = 0;
      for (const s of p.steps) {
        if (s.kind !== "kernel") continue;
        parts.push(`=== kernel ${s.name} ===`, "--- IR ---", printKernel(s.kernel));
        const why = wasmSupport(s.kernel);
        if (why) {
          parts.push(`--- not eligible for wasm: ${why} ---`, "");
          continue;
        }
        const m = generateWasm(s.kernel);
        expect(validateWasm(m.bytes), `${s.name}: invalid module`).toBe(true);
        parts.push(`--- wasm (${m.bytes.length} bytes, scratch ${m.scratchBytes}, ${m.vectorized ? "vectorised" : "scalar"}) ---`, m.text.trimEnd(), "");
        rendered++;
      }
      expect(rendered).toBeGreaterThan(0);
      checkGolden(`wasm-${name}`, parts.join("\n") + "\n");
    });
});
