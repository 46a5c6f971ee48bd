// The float16 and bfloat16 decoding tables (kernel/core/float16.ts), built by a small
// WebAssembly module plus JS patches for the special values, against an independent decoding
// of every one of the 65536 bit patterns: the value from sign, exponent and mantissa in float64
// arithmetic (exact for these formats), and for NaNs the bit pattern a hardware widening gives
// (sign and payload kept, quiet bit set).

import { describe, expect, it } from "vitest";
import { bf16DecodeTable, f16DecodeTable, _referenceDecodeTables } from "../../kernel/core/float16";

const bitsOf = (t: Float32Array) => new Uint32Array(t.buffer, t.byteOffset, t.length);

/** float16 bits -> float32 bits, from the format's definition. */
function f16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 31) return m === 0 ? (sign < 0 ? 0xff800000 : 0x7f800000) : (((h & 0x8000) << 16) | 0x7fc00000 | (m << 13)) >>> 0;
  const v = e === 0 ? sign * m * 2 ** -24 : sign * (1 + m / 1024) * 2 ** (e - 15);
  const f = new Float32Array([v]);
  if (v === 0 && sign < 0) f[0] = -0;
  return new Uint32Array(f.buffer)[0];
}

describe("float16 / bfloat16 decoding tables", () => {
  it("decode every float16 bit pattern as the format defines it", () => {
    const t = bitsOf(f16DecodeTable());
    expect(t.length).toBe(65536);
    const bad: string[] = [];
    for (let h = 0; h < 65536; h++) if (t[h] !== f16Bits(h)) bad.push(`${h.toString(16)}: ${t[h].toString(16)} vs ${f16Bits(h).toString(16)}`);
    expect(bad.slice(0, 5)).toEqual([]);
  });

  it("decode every bfloat16 bit pattern as the top half of a float32", () => {
    const t = bitsOf(bf16DecodeTable());
    expect(t.length).toBe(65536);
    let bad = 0;
    for (let h = 0; h < 65536; h++) if (t[h] !== (h << 16) >>> 0) bad++;
    expect(bad).toBe(0);
  });

  it("equal the tables the plain JS loops build", () => {
    const [f16, bf16] = _referenceDecodeTables();
    expect(Array.from(bitsOf(f16DecodeTable()))).toEqual(Array.from(bitsOf(f16)));
    expect(Array.from(bitsOf(bf16DecodeTable()))).toEqual(Array.from(bitsOf(bf16)));
  });
});
