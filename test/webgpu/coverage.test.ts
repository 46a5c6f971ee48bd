// What the WebGPU backend covers, listed from the primitive registry (no device needed): every
// library primitive has a WGSL rule, every elementwise primitive renders to WGSL for float32
// (and the integer/bool dtypes its CPU rule takes), and the higher-order primitives are the
// only ones left to the host-driven path. A new primitive without a GPU lowering fails here.

import { describe, expect, it } from "vitest";
import "../../kernel/index";
import { allPrimitives } from "../../kernel/core/primitive";
import { bool, float32 } from "../../kernel/core/dtype";
import { classifyPrimitive } from "../../kernel/lower/fusion";
import { wgslRule } from "../../kernel/backends/webgpu/wgsl-library";
import { aluRender } from "../../kernel/backends/webgpu/wgsl-scalar";
import "../../kernel/backends/webgpu/webgpu-backend";

const classOf = (name: string) => {
  const p = allPrimitives().find((q) => q.name === name)!;
  return p.impl ? "impl" : classifyPrimitive(p, {}, 1);
};

describe("WebGPU coverage of the primitive registry", () => {
  it("every library primitive has a WGSL rule", () => {
    // Collectives (axisNames) never reach a device program: vmap rewrites them, and outside a
    // binding transformation they are an unbound-axis error.
    const lib = allPrimitives().filter((p) => !p.impl && !p.axisNames && classOf(p.name) === "library").map((p) => p.name);
    expect(lib.length).toBeGreaterThan(15);
    expect(lib.filter((n) => !wgslRule(n))).toEqual([]);
  });
  it("every elementwise primitive renders to WGSL for float32 operands (comparisons and is_finite give bool; select_n takes a bool)", () => {
    const missing: string[] = [];
    for (const p of allPrimitives().filter((q) => q.elementwise)) {
      const arity = ["select_n"].includes(p.name) ? 3 : ["clamp"].includes(p.name) ? 3 : ["add", "add_any", "sub", "mul", "div", "rem", "pow", "max", "min", "atan2", "nextafter", "and", "or", "xor", "shift_left", "shift_right_logical", "shift_right_arithmetic", "eq", "ne", "lt", "le", "gt", "ge"].includes(p.name) ? 2 : 1;
      if (["and", "or", "xor", "not", "shift_left", "shift_right_logical", "shift_right_arithmetic"].includes(p.name)) continue; // integer/bool only, as on the CPU
      const cmp = ["eq", "ne", "lt", "le", "gt", "ge", "is_finite"].includes(p.name);
      const out = cmp ? bool : float32;
      const ins = p.name === "select_n" ? [bool, float32, float32] : Array(arity).fill(float32);
      const params = p.name === "integer_pow" ? { y: 3 } : p.name === "round" ? { rounding_method: 0 } : p.name === "convert_element_type" ? { new_dtype: float32 } : {};
      const r = aluRender(p.name, params, ins, out, ins.map((_: unknown, i: number) => `a${i}`));
      if (typeof r !== "string") missing.push(`${p.name}: ${r.why}`);
    }
    expect(missing).toEqual([]);
  });
  it("the host-driven higher-order primitives are exactly these", () => {
    expect(allPrimitives().filter((p) => p.impl).map((p) => p.name).sort()).toEqual(
      ["cond", "custom_jvp_call", "custom_lin", "custom_vjp_call", "debug_callback", "debug_print", "jit", "random_gamma", "scan", "while", "xla_pmap"].sort(),
    );
  });
});
