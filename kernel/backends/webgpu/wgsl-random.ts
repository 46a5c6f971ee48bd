// WGSL lowering (a wgsl-library.ts rule) of threefry2x32, the PRNG's one primitive
// (kernel/primitives/random.ts): Threefry-2x32 with 20 rounds, as Random123 and JAX define it
// (shared/jax-reference.md §1.2). One invocation per output element hashes its counter pair
// (x0, x1) under its key (k0, k1) and writes both words. The four operands broadcast against the
// output as the primitive's abstractEval says (equal ranks, scalars exempt, size-1 axes
// stretched): each is read through its own strides, 0 along stretched axes.
//
// Bit-exact with the CPU by construction: only u32 add (wrapping, as WGSL integers do), xor and
// shifts, the same schedule and rotation constants, unrolled.

import { ShapedArray } from "../../core/aval";
import { sizeOf } from "../../core/shape";
import { broadcastStrides } from "../../primitives/cpu-loops";
import { AdapterCaps, WgslCall, registerWgslRule } from "./wgsl-library";
import { PassBuf, itemsPass, lin, unravel, unsupported } from "./wgsl-indexing";

/** The key schedule's parity constant. */
const KS_PARITY = 0x1bd11bda;
/** Rotation amounts of blocks 1, 3, 5 (R0) and 2, 4 (R1). */
const R0 = [13, 15, 26, 6];
const R1 = [17, 29, 16, 24];

/** The WGSL statements of the 20 rounds on `var a, b` with key words k0, k1, k2 (all u32). */
export function threefryRounds(): string[] {
  const lines: string[] = [];
  const ks = ["k0", "k1", "k2"];
  for (let s = 1; s <= 5; s++) {
    for (const r of s & 1 ? R0 : R1) lines.push(`  a = a + b; b = (b << ${r}u) | (b >> ${32 - r}u); b = b ^ a;`);
    // Key injection after block s: ks[s mod 3] and ks[(s + 1) mod 3] + s.
    lines.push(`  a = a + ${ks[s % 3]}; b = b + ${ks[(s + 1) % 3]} + ${s}u;`);
  }
  return lines;
}

function threefryRule(ins: readonly ShapedArray[], outs: readonly ShapedArray[], _p: unknown, caps: AdapterCaps): WgslCall | { why: string } {
  const [o] = outs;
  const why = unsupported("threefry2x32", [...ins, ...outs], caps);
  if (why) return { why };
  if (ins.some((x) => x.dtype.name !== "uint32")) return { why: `threefry2x32: operands must be uint32, got ${ins.map((x) => x.dtype.name).join(", ")}` };
  if (o.size === 0) return { passes: [], temps: [], note: "threefry2x32: empty" };
  // Each operand's element index: p itself (full size), 0 (one element), or its broadcast strides.
  let coords = false;
  const at = ins.map((x) => {
    if (sizeOf(x.shape) === 1) return "0";
    if (x.shape.length === o.shape.length && x.shape.every((n, d) => n === o.shape[d])) return "p";
    coords = true;
    return lin(broadcastStrides(x.shape, o.shape).map((s, d): [string, number] => [`c${d}`, s]));
  });
  const names = ["k0", "k1", "x0", "x1"];
  const body = [
    ...(coords ? unravel(o.shape, "c") : []),
    ...names.map((n, i) => `  let ${n} = b${2 + i}[${at[i]}];`),
    `  let k2 = k0 ^ k1 ^ 0x${KS_PARITY.toString(16)}u;`,
    "  var a = x0 + k0;",
    "  var b = x1 + k1;",
    ...threefryRounds(),
    "  b0[p] = a;",
    "  b1[p] = b;",
  ];
  const bufs: PassBuf[] = [
    { buf: 0, dtype: o.dtype, elements: o.size, write: true },
    { buf: 1, dtype: o.dtype, elements: o.size, write: true },
    ...ins.map((x, i) => ({ buf: 2 + i, dtype: x.dtype, elements: x.size })),
  ];
  const title = `threefry2x32 (${ins.map((x) => x.str()).join(", ")}) -> 2 x ${o.str()}`;
  return { passes: [itemsPass(title, bufs, o.size, body)], temps: [], note: "threefry2x32: one invocation per counter pair, 20 rounds unrolled" };
}

registerWgslRule("threefry2x32", threefryRule);
