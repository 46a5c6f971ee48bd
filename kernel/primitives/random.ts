// The PRNG's one primitive: threefry2x32 (JAX's threefry2x32_p), the Threefry-2x32-20 block
// hash of Random123 that every jax.random function is built on (jax-reference.md §1.2).
// Inputs are four uint32 arrays key0, key1, x0, x1 that broadcast as lax's n-ary ops do (equal
// ranks, scalars exempt, size-1 axes stretched), so one key can hash a whole array of counters;
// the outputs are the two uint32 words of each hashed counter pair.
//
// Transformation rules (declared in the record below):
//   * JVP: zero. The outputs are integers, so their tangents are symbolic zeros (JAX's float0);
//     nothing differentiable flows through a hash.
//   * Batching: elementwise broadcasting, JAX's batching.defbroadcasting: batched operands get
//     their batch axis in front, unbatched non-scalars a leading size-1 axis, and one bind does
//     the whole batch (the shared elementwise batching rule). Both outputs are batched on axis 0.

import { ShapedArray } from "../core/aval";
import { uint32 } from "../core/dtype";
import { DTypeError, ValueError } from "../core/errors";
import { HostArray, Primitive, definePrimitive } from "../core/primitive";
import { bind } from "../core/trace";
import { broadcastStrides } from "./cpu-loops";
import { naryShape } from "./elementwise";
import { elementwiseBatch } from "./elementwise-common";
import { stridedCopy } from "./movement";

/** The key schedule's parity constant (Threefish's C240, as Random123 uses for 32-bit words). */
const KS_PARITY = 0x1bd11bda;
/** Rotation amounts: blocks 1, 3, 5 use R0, blocks 2 and 4 use R1. */
const R0 = [13, 15, 26, 6];
const R1 = [17, 29, 16, 24];

/**
 * Hashes n counter pairs in place of out0/out1: Threefry-2x32 with 20 rounds (5 blocks of 4),
 * all arithmetic wrapping mod 2^32. `>>> 0` after every add keeps values in uint32 (a sum of
 * three words stays below 2^53, so the double arithmetic is exact before the wrap).
 */
export function threefryHash(
  k0: Uint32Array, k1: Uint32Array, x0: Uint32Array, x1: Uint32Array,
  out0: Uint32Array, out1: Uint32Array,
): void {
  const n = out0.length;
  for (let i = 0; i < n; i++) {
    const ks0 = k0[i];
    const ks1 = k1[i];
    const ks2 = (ks0 ^ ks1 ^ KS_PARITY) >>> 0;
    let a = (x0[i] + ks0) >>> 0;
    let b = (x1[i] + ks1) >>> 0;
    for (let s = 1; s <= 5; s++) {
      const R = s & 1 ? R0 : R1;
      for (let r = 0; r < 4; r++) {
        const rot = R[r];
        a = (a + b) >>> 0;
        b = ((b << rot) | (b >>> (32 - rot))) >>> 0;
        b = (b ^ a) >>> 0;
      }
      // Key injection after block s: ks[s mod 3] and ks[(s + 1) mod 3] + s.
      const m = s % 3;
      const ia = m === 0 ? ks0 : m === 1 ? ks1 : ks2;
      const ib = m === 0 ? ks1 : m === 1 ? ks2 : ks0;
      a = (a + ia) >>> 0;
      b = (b + ib + s) >>> 0;
    }
    out0[i] = a;
    out1[i] = b;
  }
}

/** One operand stretched to the full output (shared when it already is full size). */
function expand(x: HostArray, shape: readonly number[], total: number): Uint32Array {
  const data = x.data as Uint32Array;
  if (data.length === total && x.shape.length === shape.length) return data;
  if (data.length === 1) return new Uint32Array(total).fill(data[0]);
  return stridedCopy(data, Uint32Array, shape, broadcastStrides(x.shape, shape), 0) as Uint32Array;
}

/**
 * threefry2x32(key0, key1, x0, x1) -> (y0, y1). Keys broadcast against the counters as in JAX
 * (the key words are usually scalars or carry leading batch axes).
 * JVP: zero (integer outputs). Batching: elementwise broadcasting (see the header).
 */
export const threefry2x32: Primitive<{}> = definePrimitive<{}>({
  name: "threefry2x32",
  abstractEval(avals) {
    if (avals.length !== 4) throw new ValueError(`threefry2x32: expected 4 operands (key0, key1, x0, x1), got ${avals.length}`);
    if (avals.some((a) => a.dtype !== uint32))
      throw new DTypeError(`threefry2x32: arguments to threefry2x32 must have uint32 type, got ${avals.map((a) => a.dtype.name).join(", ")}`);
    const out = new ShapedArray(naryShape("threefry2x32", avals), uint32);
    return [out, out];
  },
  cpu(inputs, _params, [o]) {
    const total = o.size;
    const [k0, k1, x0, x1] = inputs.map((x) => expand(x, o.shape, total));
    const y0 = new Uint32Array(total);
    const y1 = new Uint32Array(total);
    threefryHash(k0, k1, x0, x1, y0, y1);
    return [y0, y1];
  },
  // Integer outputs: the tangents are zero whatever the inputs' tangents are.
  jvp: (primals, _tangents, params) => [bind(threefry2x32, primals, params), [null, null]],
  batch: (args, dims, params, size) => elementwiseBatch(threefry2x32, args, dims, params, size, false),
});
