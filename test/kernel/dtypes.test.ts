// Dtypes with JAX's x64 mode off: the type promotion table, weak types, 64-bit names narrowing,
// unknown names, the int32 range of JS integers, and the float16/bfloat16 encodings.
//
// References (never the library's own earlier output):
// - JAX docs/type_promotion.rst: the binary promotion table (copied below as text, restricted to
//   the dtypes Primal has) and the weak-type examples (`2 * int8_array` stays int8,
//   `jnp.asarray(2)` is weakly typed).
// - shared/jax-reference.md §3: defaults with x64 off, the 64-bit narrowing warning, the
//   OverflowError wording for Python ints outside int32.
// - IEEE 754 binary16 and bfloat16 (the top half of a binary32) layouts: expected bit patterns
//   are computed here by hand or with plain JS arithmetic.
import { afterEach, describe, expect, it } from "vitest";
import { np, DTypeError, ValueError, NDArray } from "../../kernel/index";
import { setDTypeWarningHandler } from "../../kernel/core/dtype";
import { bf16ToNumber, f16ToNumber, numberToBF16, numberToF16 } from "../../kernel/core/float16";

afterEach(() => setDTypeWarningHandler((msg) => process.emitWarning(msg, "UserWarning")));

/** "int8 weak" / "float32": the dtype and weak flag of an array. */
function sig(x: NDArray): string {
  return `${x.dtype.name}${x.weakType ? " weak" : ""}`;
}

// ---- The promotion table ----

// docs/type_promotion.rst, "the following binary promotion table", keeping the columns and rows
// for b1 u1 u2 u4 i1 i2 i4 bf f2 f4 i* f* (Primal has no 64-bit or complex dtypes). Cells that
// name u8/i8/f8 in the full table do not occur here except i8, for mixed signed/unsigned.
const TYPES = ["b1", "u1", "u2", "u4", "i1", "i2", "i4", "bf", "f2", "f4", "i*", "f*"] as const;
type T = (typeof TYPES)[number] | "i8";
const TABLE = `
     b1 u1 u2 u4 i1 i2 i4 bf f2 f4 i* f*
b1   b1 u1 u2 u4 i1 i2 i4 bf f2 f4 i* f*
u1   u1 u1 u2 u4 i2 i2 i4 bf f2 f4 u1 f*
u2   u2 u2 u2 u4 i4 i4 i4 bf f2 f4 u2 f*
u4   u4 u4 u4 u4 i8 i8 i8 bf f2 f4 u4 f*
i1   i1 i2 i4 i8 i1 i2 i4 bf f2 f4 i1 f*
i2   i2 i2 i4 i8 i2 i2 i4 bf f2 f4 i2 f*
i4   i4 i4 i4 i8 i4 i4 i4 bf f2 f4 i4 f*
bf   bf bf bf bf bf bf bf bf f4 f4 bf bf
f2   f2 f2 f2 f2 f2 f2 f2 f4 f2 f4 f2 f2
f4   f4 f4 f4 f4 f4 f4 f4 f4 f4 f4 f4 f4
i*   i* u1 u2 u4 i1 i2 i4 bf f2 f4 i* f*
f*   f* f* f* f* f* f* f* bf f2 f4 f* f*
`;

// With x64 off, JAX canonicalises the joins: i8 -> int32 (strong), and the weak Python types
// i* / f* become int32 / float32 with weak_type=True (jax-reference §3, "Defaults with x64 off").
const X64_OFF: Record<T, string> = {
  b1: "bool", u1: "uint8", u2: "uint16", u4: "uint32", i1: "int8", i2: "int16", i4: "int32", i8: "int32",
  bf: "bfloat16", f2: "float16", f4: "float32", "i*": "int32 weak", "f*": "float32 weak",
};
const DTYPE_NAME: Record<string, string> = {
  b1: "bool", u1: "uint8", u2: "uint16", u4: "uint32", i1: "int8", i2: "int16", i4: "int32", bf: "bfloat16", f2: "float16", f4: "float32",
};

/** A value of lattice type `t`: a strongly typed array, or a JS number for the weak i* and f*. */
function valueOf(t: (typeof TYPES)[number]): NDArray | number {
  if (t === "i*") return 2; // a JS integer: weakly typed int32, like a Python int
  if (t === "f*") return 2.5; // a JS non-integer: weakly typed float32, like a Python float
  return np.array([1, 0], { dtype: DTYPE_NAME[t] as "float32" });
}

const rows = TABLE.trim().split("\n").slice(1).map((line) => line.trim().split(/\s+/));

describe("type promotion (docs/type_promotion.rst, x64 off)", () => {
  it("the table has every pair", () => {
    expect(rows.map((r) => r[0])).toEqual([...TYPES]);
    for (const r of rows) expect(r.length).toBe(TYPES.length + 1);
  });

  for (const row of rows) {
    const t1 = row[0] as (typeof TYPES)[number];
    it(`${t1} with every type, through np.add`, () => {
      TYPES.forEach((t2, j) => {
        const expected = X64_OFF[row[j + 1] as T];
        expect(sig(np.add(valueOf(t1), valueOf(t2))), `${t1} + ${t2}`).toBe(expected);
      });
    });
  }

  it("the table is symmetric, and np.multiply / np.maximum / np.where promote the same way", () => {
    TYPES.forEach((t1, i) =>
      TYPES.forEach((t2, j) => {
        expect(rows[i][j + 1], `${t1},${t2}`).toBe(rows[j][i + 1]);
        const expected = X64_OFF[rows[i][j + 1] as T];
        expect(sig(np.multiply(valueOf(t1), valueOf(t2))), `${t1} * ${t2}`).toBe(expected);
        expect(sig(np.maximum(valueOf(t1), valueOf(t2))), `maximum(${t1}, ${t2})`).toBe(expected);
        expect(sig(np.where(true, valueOf(t1), valueOf(t2))), `where(c, ${t1}, ${t2})`).toBe(expected);
      }),
    );
  });

  it("weak scalars held in 0-d arrays (np.array(2), np.asarray(2.5)) promote like JS numbers", () => {
    // docs/type_promotion.rst: `jnp.asarray(2)` is `Array(2, dtype=int32, weak_type=True)`.
    const wi = np.array(2);
    const wf = np.asarray(2.5);
    expect(sig(wi)).toBe("int32 weak");
    expect(sig(wf)).toBe("float32 weak");
    TYPES.forEach((t2, j) => {
      expect(sig(np.add(wi, valueOf(t2))), `i* array + ${t2}`).toBe(X64_OFF[rows[10][j + 1] as T]);
      expect(sig(np.add(wf, valueOf(t2))), `f* array + ${t2}`).toBe(X64_OFF[rows[11][j + 1] as T]);
    });
  });
});

describe("weak types", () => {
  it("np.array(2) is weak, np.array([2]) and an explicit dtype are strong", () => {
    expect(sig(np.array(2))).toBe("int32 weak");
    expect(sig(np.array(2.5))).toBe("float32 weak");
    expect(sig(np.array([2]))).toBe("int32");
    expect(sig(np.array([2.5]))).toBe("float32");
    expect(sig(np.array(2, { dtype: "int32" }))).toBe("int32");
    // A JS boolean is a strong bool, as a Python bool is in JAX.
    expect(sig(np.array(true))).toBe("bool");
    // docs/type_promotion.rst: "If the dtype is specified explicitly, it will instead result in a
    // standard strongly-typed array value": jnp.asarray(2, dtype='int32') -> Array(2, dtype=int32).
    expect(sig(np.asarray(2, { dtype: "int32" }))).toBe("int32");
    expect(sig(np.asarray(np.asarray(2.5), { dtype: "float32" }))).toBe("float32");
    expect(sig(np.asarray(np.asarray(2.5)))).toBe("float32 weak");
  });

  it("a weak scalar never widens a typed array of its kind: 2 * int8 stays int8 (type_promotion.rst)", () => {
    // docs: x = jnp.arange(5, dtype='int8'); 2 * x -> Array([0, 2, 4, 6, 8], dtype=int8)
    const x = np.array([0, 1, 2, 3, 4], { dtype: "int8" });
    const y = x.mul(2);
    expect(sig(y)).toBe("int8");
    expect(y.tolist()).toEqual([0, 2, 4, 6, 8]);
    expect(sig(np.multiply(2, x))).toBe("int8");
    // docs: jnp.int32(2) * x -> int32 (a typed value is not weak).
    expect(sig(np.multiply(np.array(2, { dtype: "int32" }), x))).toBe("int32");
    // The weak scalar takes the array's type, wrapping as a conversion to it does: int8(127) + 1.
    expect(np.array([127], { dtype: "int8" }).add(1).tolist()).toEqual([-128]);
    // int16 + 1 stays int16 (docs: "jnp.int16(1) + 1 will return int16").
    expect(sig(np.array([1], { dtype: "int16" }).add(1))).toBe("int16");
  });

  it("int or bool with float gives the float type; bf16 + f16 = f32 (jax-reference §3)", () => {
    const i32 = np.array([1, 2], { dtype: "int32" });
    const f16 = np.array([0.5, 0.25], { dtype: "float16" });
    const bf16 = np.array([0.5, 0.25], { dtype: "bfloat16" });
    const r = np.add(i32, f16);
    expect(sig(r)).toBe("float16");
    expect(r.tolist()).toEqual([1.5, 2.25]);
    expect(sig(np.add(bf16, f16))).toBe("float32");
    expect(np.add(bf16, f16).tolist()).toEqual([1, 0.5]);
    expect(sig(np.add(np.array([true]), bf16))).toBe("bfloat16");
    // u4 + i4 = i8, which x64-off canonicalises to int32 (strong).
    expect(sig(np.add(np.array([1], { dtype: "uint32" }), np.array([1], { dtype: "int32" })))).toBe("int32");
    // A weak int meeting a strong float, and a strong int meeting a weak float (higher category): f*.
    expect(sig(np.add(np.array([1], { dtype: "int8" }), 0.5))).toBe("float32 weak");
  });

  it("weak results keep the flag through unary functions; a strong operand makes the result strong", () => {
    expect(sig(np.sqrt(4))).toBe("float32 weak"); // promote_args_inexact keeps weak_type
    expect(sig(np.negative(2))).toBe("int32 weak");
    expect(sig(np.add(2, 3))).toBe("int32 weak");
    expect(sig(np.add(2, np.array([3])))).toBe("int32");
    expect(sig(np.divide(1, 2))).toBe("float32 weak");
  });

  it("int inputs to inexact functions become float32, whatever their width (jax dtypes._dtype_to_inexact)", () => {
    // NumPy would give float16 for int8 inputs; JAX maps every int and bool to float32.
    for (const d of ["bool", "int8", "uint8", "int16", "uint16", "int32", "uint32"] as const)
      expect(sig(np.sqrt(np.array([1, 0], { dtype: d }))), d).toBe("float32");
    expect(sig(np.sqrt(np.array([1], { dtype: "float16" })))).toBe("float16");
    expect(sig(np.sqrt(np.array([1], { dtype: "bfloat16" })))).toBe("bfloat16");
  });
});

describe("dtype names", () => {
  it("64-bit names narrow to 32 bits with JAX's UserWarning (through the handler)", () => {
    const msgs: string[] = [];
    setDTypeWarningHandler((m) => msgs.push(m));
    const a = np.array([1.5, 2], { dtype: "float64" });
    expect(sig(a)).toBe("float32");
    expect(a.tolist()).toEqual([1.5, 2]);
    expect(sig(np.array([1, 2], { dtype: "int64" }))).toBe("int32");
    expect(sig(np.array([1, 2], { dtype: "uint64" }))).toBe("uint32");
    expect(sig(np.zeros([2], { dtype: "float64" }))).toBe("float32");
    expect(msgs.length).toBe(4);
    // jax-reference §3: "Explicitly requested dtype float64 … will be truncated to dtype float32".
    expect(msgs[0]).toMatch(/^Explicitly requested dtype float64 .*will be truncated to dtype float32/);
    expect(msgs[1]).toMatch(/^Explicitly requested dtype int64 .*will be truncated to dtype int32/);
    expect(msgs[2]).toMatch(/^Explicitly requested dtype uint64 .*will be truncated to dtype uint32/);
  });

  it("the default handler emits a process UserWarning", async () => {
    const got = new Promise<Error>((resolve) => process.once("warning", resolve));
    expect(sig(np.array([1], { dtype: "int64" }))).toBe("int32");
    const w = await got;
    expect(w.name).toBe("UserWarning");
    expect(w.message).toMatch(/Explicitly requested dtype int64 .*truncated to dtype int32/);
  });

  it("dtype values and names are interchangeable", () => {
    expect(np.array([1], { dtype: np.uint16 }).dtype).toBe(np.uint16);
    expect(np.array([1], { dtype: "bfloat16" }).dtype).toBe(np.bfloat16);
    expect(String(np.float16)).toBe("float16");
  });

  it("an unknown dtype name is a DTypeError naming it", () => {
    expect(() => np.array([1], { dtype: "float128" as "float32" })).toThrow(DTypeError);
    expect(() => np.array([1], { dtype: "float128" as "float32" })).toThrow(/"float128"/);
    expect(() => np.zeros([2], { dtype: "int3" as "int32" })).toThrow(/int3/);
    expect(() => np.array([1]).astype("complex64" as "float32")).toThrow(/complex64/);
  });
});

describe("JS integers outside int32 (OverflowError wording, jax/_src/abstract_arrays.py)", () => {
  it("a JS integer becomes int32 and must fit", () => {
    expect(np.array(2147483647).item()).toBe(2147483647);
    expect(np.array(-2147483648).item()).toBe(-2147483648);
    expect(() => np.array(2147483648)).toThrow(ValueError);
    expect(() => np.array(2 ** 31)).toThrow("Python int 2147483648 too large to convert to int32");
    expect(() => np.array(-2147483649)).toThrow("Python int -2147483649 too large to convert to int32");
    expect(() => np.array([1, 2 ** 40])).toThrow("Python int 1099511627776 too large to convert to int32");
    // As an operand (JAX parses the Python int as int32 before promotion, so it overflows there too).
    expect(() => np.add(np.array([1]), 2 ** 31)).toThrow("Python int 2147483648 too large to convert to int32");
  });

  it("with an explicit float or unsigned dtype there is no int32 conversion", () => {
    expect(np.array(2 ** 31, { dtype: "uint32" }).item()).toBe(2147483648);
    expect(np.array(2 ** 40, { dtype: "float32" }).item()).toBe(2 ** 40);
    expect(np.array([2 ** 31], { dtype: "float32" }).item()).toBe(2 ** 31);
  });
});

// ---- float16 ----

describe("float16 (IEEE binary16) encoding", () => {
  it("exact values and specials", () => {
    const cases: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff], // max finite
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [1023 * 2 ** -24, 0x03ff], // largest subnormal
      [Infinity, 0x7c00], [-Infinity, 0xfc00],
    ];
    for (const [v, bits] of cases) {
      expect(numberToF16(v), `${v}`).toBe(bits);
      expect(Object.is(f16ToNumber(bits), v), `${bits.toString(16)}`).toBe(true);
    }
  });

  it("rounds to nearest, ties to even", () => {
    // Spacing at 1 is 2^-10: 1 + 2^-11 is halfway between 1 (even mantissa) and 1 + 2^-10.
    expect(numberToF16(1 + 2 ** -11)).toBe(0x3c00);
    expect(numberToF16(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway between odd 0x3c01 and even 0x3c02
    expect(numberToF16(1 + 2 ** -11 + 2 ** -30)).toBe(0x3c01); // just above halfway rounds up
    expect(numberToF16(1 + 2 ** -11 - 2 ** -30)).toBe(0x3c00);
    // Spacing at 2048 is 2.
    expect(numberToF16(2049)).toBe(0x6800); // 2048
    expect(numberToF16(2051)).toBe(0x6802); // 2052
    // Subnormals: units of 2^-24.
    expect(numberToF16(2 ** -25)).toBe(0x0000); // halfway between 0 and 2^-24: to even (0)
    expect(numberToF16(-(2 ** -25))).toBe(0x8000);
    expect(numberToF16(3 * 2 ** -25)).toBe(0x0002); // 1.5 units: to even (2)
    expect(numberToF16(2 ** -25 * 1.0001)).toBe(0x0001);
    expect(numberToF16(1023.5 * 2 ** -24)).toBe(0x0400); // rounds up into the normals
    // Known values: 1/3 = 0x3555 (0.333251953125), 0.1 = 0x2e66 (0.0999755859375).
    expect(numberToF16(1 / 3)).toBe(0x3555);
    expect(f16ToNumber(0x3555)).toBe(0.333251953125);
    expect(numberToF16(0.1)).toBe(0x2e66);
    expect(f16ToNumber(0x2e66)).toBe(0.0999755859375);
  });

  it("overflows to inf at 65520 (halfway to the next binade rounds up)", () => {
    expect(numberToF16(65519)).toBe(0x7bff);
    expect(numberToF16(65519.99)).toBe(0x7bff);
    expect(numberToF16(65520)).toBe(0x7c00);
    expect(numberToF16(-65520)).toBe(0xfc00);
    expect(numberToF16(1e10)).toBe(0x7c00);
    expect(numberToF16(1e-10)).toBe(0x0000);
  });

  it("NaN stays NaN, with its sign", () => {
    const h = numberToF16(NaN);
    expect((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0).toBe(true);
    expect(f16ToNumber(0x7e00)).toBeNaN();
    expect(f16ToNumber(0xfe01)).toBeNaN();
    // -NaN made from float32 bits 0xffc00000.
    const neg = new Float32Array(new Uint32Array([0xffc00000]).buffer)[0];
    expect(numberToF16(neg) & 0x8000).toBe(0x8000);
  });

  it("round-trips all 65536 bit patterns (decode then encode), NaNs stay NaN", () => {
    let mismatches = 0;
    for (let h = 0; h < 65536; h++) {
      const v = f16ToNumber(h);
      const isNaNBits = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      // Independent decode: sign * 2^(e-15) * (1 + m/1024), subnormal sign * m * 2^-24.
      const e = (h >> 10) & 0x1f;
      const m = h & 0x3ff;
      const s = h & 0x8000 ? -1 : 1;
      if (isNaNBits) {
        if (!Number.isNaN(v)) mismatches++;
        const back = numberToF16(v);
        if (!((back & 0x7c00) === 0x7c00 && (back & 0x3ff) !== 0)) mismatches++;
        continue;
      }
      const ref = e === 0 ? s * m * 2 ** -24 : e === 31 ? s * Infinity : s * 2 ** (e - 15) * (1 + m / 1024);
      if (!Object.is(v, ref)) mismatches++;
      if (numberToF16(v) !== h) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it("arrays of dtype float16 store the rounded values", () => {
    const a = np.array([1 / 3, 65520, -0, 1 + 2 ** -11, 2 ** -25, 0.1], { dtype: "float16" });
    expect(a.dtype).toBe(np.float16);
    const v = a.tolist() as number[];
    expect(v[0]).toBe(0.333251953125);
    expect(v[1]).toBe(Infinity);
    expect(Object.is(v[2], -0)).toBe(true);
    expect(v[3]).toBe(1);
    expect(v[4]).toBe(0);
    expect(v[5]).toBe(0.0999755859375);
    // Arithmetic in float16 rounds its result: 2048 + 1 = 2048.
    expect(np.add(np.array([2048], { dtype: "float16" }), 1).tolist()).toEqual([2048]);
  });
});

// ---- bfloat16 ----

describe("bfloat16 encoding (the top 16 bits of a float32, round to nearest even)", () => {
  it("known values", () => {
    // 1/3 as float32 is 0x3eaaaaab; the low half 0xaaab is above halfway, so bf16 = 0x3eab = 0.333984375.
    expect(numberToBF16(1 / 3)).toBe(0x3eab);
    expect(bf16ToNumber(0x3eab)).toBe(0.333984375);
    expect(np.array(1 / 3, { dtype: "bfloat16" }).item()).toBe(0.333984375);
    expect(numberToBF16(1)).toBe(0x3f80);
    expect(numberToBF16(-2)).toBe(0xc000);
    expect(numberToBF16(-0)).toBe(0x8000);
    expect(numberToBF16(Math.PI)).toBe(0x4049); // 3.140625
    expect(bf16ToNumber(0x4049)).toBe(3.140625);
    expect(bf16ToNumber(0x7f7f)).toBe(3.3895313892515355e38); // max finite
    expect(numberToBF16(2 ** -133)).toBe(0x0001); // smallest subnormal (2^-126 * 2^-7)
  });

  it("ties to even, overflow to inf, NaN stays NaN", () => {
    // Spacing at 1 is 2^-7.
    expect(numberToBF16(1 + 2 ** -8)).toBe(0x3f80); // halfway: to even
    expect(numberToBF16(1 + 3 * 2 ** -8)).toBe(0x3f82); // halfway between 0x3f81 and 0x3f82: to even
    expect(numberToBF16(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81);
    expect(numberToBF16(3.4028234663852886e38)).toBe(0x7f80); // float32 max rounds up to inf
    expect(numberToBF16(Infinity)).toBe(0x7f80);
    expect(numberToBF16(-Infinity)).toBe(0xff80);
    expect(bf16ToNumber(numberToBF16(NaN))).toBeNaN();
    const neg = new Float32Array(new Uint32Array([0xffc00000]).buffer)[0];
    expect(numberToBF16(neg) & 0x8000).toBe(0x8000);
  });

  it("round-trips all non-NaN bit patterns; NaN patterns decode and re-encode to NaN", () => {
    let mismatches = 0;
    for (let h = 0; h < 65536; h++) {
      const v = bf16ToNumber(h);
      const isNaNBits = (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
      const e = (h >> 7) & 0xff;
      const m = h & 0x7f;
      const s = h & 0x8000 ? -1 : 1;
      if (isNaNBits) {
        const back = numberToBF16(v);
        if (!Number.isNaN(v) || !((back & 0x7f80) === 0x7f80 && (back & 0x7f) !== 0)) mismatches++;
        continue;
      }
      const ref = e === 0 ? s * m * 2 ** -133 : e === 255 ? s * Infinity : s * 2 ** (e - 127) * (1 + m / 128);
      if (!Object.is(v, ref)) mismatches++;
      if (numberToBF16(v) !== h) mismatches++;
    }
    expect(mismatches).toBe(0);
  });
});
