// Array printing: the expected strings are NumPy's str() and JAX's Array repr for the same data
// (JAX 0.4.3x+ with NumPy <= 2.2 print options; bfloat16 as ml_dtypes prints it).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { bfloat16, bool, float16, float32, int32, uint32 } from "../../kernel/core/dtype";
import { formatRepr, formatStr, getPrintOptions, setPrintOptions } from "../../kernel/core/format";
import type { DType } from "../../kernel/core/dtype";

const f32 = (xs: number[]) => Float32Array.from(xs);
const range = (n: number, f: (i: number) => number = (i) => i) => Array.from({ length: n }, (_, i) => f(i));

/** Checks str and (non-weak) repr of a 1-D or N-D array at once. */
function check(values: ArrayLike<number>, shape: number[], dtype: DType, str: string, repr: string): void {
  expect(formatStr(values, shape, dtype)).toBe(str);
  expect(formatRepr(values, shape, dtype, false)).toBe(repr);
}

const defaults = getPrintOptions();
beforeEach(() => setPrintOptions(defaults));
afterEach(() => setPrintOptions(defaults));

describe("integers", () => {
  it("aligns columns to the widest value, sign included", () => {
    check([3, 8, 15], [3], int32, "[ 3  8 15]", "Array([ 3,  8, 15], dtype=int32)");
    check([3, -8, 15], [3], int32, "[ 3 -8 15]", "Array([ 3, -8, 15], dtype=int32)");
    check([-100, 5, 42], [3], int32, "[-100    5   42]", "Array([-100,    5,   42], dtype=int32)");
  });
  it("formats unsigned values like ints", () => {
    check([0, 4294967295], [2], uint32, "[         0 4294967295]", "Array([         0, 4294967295], dtype=uint32)");
  });
});

describe("floats, positional", () => {
  it("prints float32's shortest round-trip digits", () => {
    check(f32([0.1, 0.2, 0.3]), [3], float32, "[0.1 0.2 0.3]", "Array([0.1, 0.2, 0.3], dtype=float32)");
    check(f32([1 / 3, 2 / 3]), [2], float32, "[0.33333334 0.6666667 ]", "Array([0.33333334, 0.6666667 ], dtype=float32)");
    expect(formatStr([Math.fround(0.1)], [1], float32)).toBe("[0.1]");
  });
  it("pads integer and fraction parts so columns align", () => {
    check(f32([0, -1.5, 2.25]), [3], float32, "[ 0.   -1.5   2.25]", "Array([ 0.  , -1.5 ,  2.25], dtype=float32)");
    check(f32([1, 2, 3]), [3], float32, "[1. 2. 3.]", "Array([1., 2., 3.], dtype=float32)");
    check(f32([-1, 2]), [2], float32, "[-1.  2.]", "Array([-1.,  2.], dtype=float32)");
    // numpy >= 2.3 (what JAX 0.11 prints with): float32 switches to scientific at 1e6.
    check(f32([123456]), [1], float32, "[123456.]", "Array([123456.], dtype=float32)");
    check(f32([12345678]), [1], float32, "[1.2345678e+07]", "Array([1.2345678e+07], dtype=float32)");
  });
  it("keeps the sign of negative zero", () => {
    check([-0, 1], [2], float32, "[-0.  1.]", "Array([-0.,  1.], dtype=float32)");
  });
});

describe("floats, scientific", () => {
  it("switches on small values, a wide range, or values >= 1e8", () => {
    check(f32([1e-5, 1]), [2], float32, "[1.e-05 1.e+00]", "Array([1.e-05, 1.e+00], dtype=float32)");
    check(f32([1.5e-5, 1]), [2], float32, "[1.5e-05 1.0e+00]", "Array([1.5e-05, 1.0e+00], dtype=float32)");
    check(f32([1e8]), [1], float32, "[1.e+08]", "Array([1.e+08], dtype=float32)");
    check(f32([1, 1001]), [2], float32, "[1.000e+00 1.001e+03]", "Array([1.000e+00, 1.001e+03], dtype=float32)");
    check(f32([93.38331, 1e-8]), [2], float32, "[9.338331e+01 1.000000e-08]", "Array([9.338331e+01, 1.000000e-08], dtype=float32)");
  });
  it("never uses scientific notation with suppress", () => {
    setPrintOptions({ suppress: true });
    expect(formatStr(f32([1e-10, 1.5, 1e5]), [3], float32)).toBe("[     0.       1.5 100000. ]");
  });
  it("honours precision", () => {
    setPrintOptions({ precision: 3 });
    expect(formatStr(f32([1 / 3, 2, 0.5]), [3], float32)).toBe("[0.333 2.    0.5  ]");
    expect(formatStr(f32([(1 / 3) * 1e-6, 1]), [2], float32)).toBe("[3.333e-07 1.000e+00]");
  });
});

describe("nan and inf", () => {
  it("right-aligns them in the float column", () => {
    check([NaN, 1], [2], float32, "[nan  1.]", "Array([nan,  1.], dtype=float32)");
    check([NaN, -Infinity], [2], float32, "[ nan -inf]", "Array([ nan, -inf], dtype=float32)");
    check([1.5, Infinity, -Infinity], [3], float32, "[ 1.5  inf -inf]", "Array([ 1.5,  inf, -inf], dtype=float32)");
    check([Math.fround(1e-5), NaN], [2], float32, "[1.e-05    nan]", "Array([1.e-05,    nan], dtype=float32)");
  });
});

describe("bool", () => {
  it("pads True to the width of False", () => {
    check([1, 0, 1], [3], bool, "[ True False  True]", "Array([ True, False,  True], dtype=bool)");
  });
});

describe("multi-dimensional", () => {
  it("puts rows on their own lines", () => {
    check(f32([1, 2, 3, 4]), [2, 2], float32, "[[1. 2.]\n [3. 4.]]", "Array([[1., 2.],\n       [3., 4.]], dtype=float32)");
    check([1, -2, 3, 40, 5, 6], [2, 3], int32, "[[ 1 -2  3]\n [40  5  6]]", "Array([[ 1, -2,  3],\n       [40,  5,  6]], dtype=int32)");
  });
  it("separates 3-D blocks with a blank line", () => {
    check(range(8), [2, 2, 2], int32,
      "[[[0 1]\n  [2 3]]\n\n [[4 5]\n  [6 7]]]",
      "Array([[[0, 1],\n        [2, 3]],\n\n       [[4, 5],\n        [6, 7]]], dtype=int32)");
    check(range(12, (i) => i / 4), [2, 3, 2], float32,
      "[[[0.   0.25]\n  [0.5  0.75]\n  [1.   1.25]]\n\n [[1.5  1.75]\n  [2.   2.25]\n  [2.5  2.75]]]",
      "Array([[[0.  , 0.25],\n        [0.5 , 0.75],\n        [1.  , 1.25]],\n\n       [[1.5 , 1.75],\n        [2.  , 2.25],\n        [2.5 , 2.75]]], dtype=float32)");
  });
});

describe("summarisation", () => {
  it("shows edge items of a 2000-element vector", () => {
    check(range(2000), [2000], int32, "[   0    1    2 ... 1997 1998 1999]", "Array([   0,    1,    2, ..., 1997, 1998, 1999], dtype=int32)");
  });
  it("decides the float layout from the shown elements only", () => {
    check(f32(range(2000, (i) => i / 4)), [2000], float32,
      "[0.0000e+00 2.5000e-01 5.0000e-01 ... 4.9925e+02 4.9950e+02 4.9975e+02]",
      "Array([0.0000e+00, 2.5000e-01, 5.0000e-01, ..., 4.9925e+02, 4.9950e+02,\n       4.9975e+02], dtype=float32)");
  });
  it("summarises both axes of a 100x100 matrix", () => {
    check(range(10000), [100, 100], int32,
      "[[   0    1    2 ...   97   98   99]\n [ 100  101  102 ...  197  198  199]\n [ 200  201  202 ...  297  298  299]\n ...\n [9700 9701 9702 ... 9797 9798 9799]\n [9800 9801 9802 ... 9897 9898 9899]\n [9900 9901 9902 ... 9997 9998 9999]]",
      "Array([[   0,    1,    2, ...,   97,   98,   99],\n       [ 100,  101,  102, ...,  197,  198,  199],\n       [ 200,  201,  202, ...,  297,  298,  299],\n       ...,\n       [9700, 9701, 9702, ..., 9797, 9798, 9799],\n       [9800, 9801, 9802, ..., 9897, 9898, 9899],\n       [9900, 9901, 9902, ..., 9997, 9998, 9999]], dtype=int32)");
  });
  it("puts the ... between 3-D blocks on its own paragraph", () => {
    const s = formatStr(range(3000), [10, 10, 30], int32);
    expect(s.startsWith("[[[   0    1    2 ...   27   28   29]\n  [  30   31   32 ...   57   58   59]\n")).toBe(true);
    expect(s).toContain("  [ 870  871  872 ...  897  898  899]]\n\n ...\n\n [[2100 2101 2102 ... 2127 2128 2129]\n");
    expect(s.endsWith("  [2970 2971 2972 ... 2997 2998 2999]]]")).toBe(true);
  });
  it("follows threshold and edgeitems", () => {
    setPrintOptions({ threshold: 5, edgeitems: 2 });
    expect(formatStr(range(10), [10], int32)).toBe("[0 1 ... 8 9]");
    setPrintOptions({ edgeitems: 1 });
    expect(formatStr(range(24), [2, 3, 4], int32)).toBe("[[[ 0 ...  3]\n  ...\n  [ 8 ... 11]]\n\n [[12 ... 15]\n  ...\n  [20 ... 23]]]");
  });
});

describe("line wrapping", () => {
  it("wraps a 30-element float vector at 75 columns", () => {
    check(f32(range(30, (i) => i / 7)), [30], float32,
      "[0.         0.14285715 0.2857143  0.42857143 0.5714286  0.71428573\n 0.85714287 1.         1.1428572  1.2857143  1.4285715  1.5714285\n 1.7142857  1.8571428  2.         2.142857   2.2857144  2.4285715\n 2.5714285  2.7142856  2.857143   3.         3.142857   3.2857144\n 3.4285715  3.5714285  3.7142856  3.857143   4.         4.142857  ]",
      // JAX pushes the dtype right by len("Array(") when the last line is full.
      "Array([0.        , 0.14285715, 0.2857143 , 0.42857143, 0.5714286 ,\n       0.71428573, 0.85714287, 1.        , 1.1428572 , 1.2857143 ,\n       1.4285715 , 1.5714285 , 1.7142857 , 1.8571428 , 2.        ,\n       2.142857  , 2.2857144 , 2.4285715 , 2.5714285 , 2.7142856 ,\n       2.857143  , 3.        , 3.142857  , 3.2857144 , 3.4285715 ,\n       3.5714285 , 3.7142856 , 3.857143  , 4.        , 4.142857  ],      dtype=float32)");
  });
  it("wraps ints and follows linewidth", () => {
    check(range(30, (i) => i * 1000), [30], int32,
      "[    0  1000  2000  3000  4000  5000  6000  7000  8000  9000 10000 11000\n 12000 13000 14000 15000 16000 17000 18000 19000 20000 21000 22000 23000\n 24000 25000 26000 27000 28000 29000]",
      "Array([    0,  1000,  2000,  3000,  4000,  5000,  6000,  7000,  8000,\n        9000, 10000, 11000, 12000, 13000, 14000, 15000, 16000, 17000,\n       18000, 19000, 20000, 21000, 22000, 23000, 24000, 25000, 26000,\n       27000, 28000, 29000], dtype=int32)");
    setPrintOptions({ linewidth: 20 });
    check(range(10, (i) => i * 100), [10], int32,
      "[  0 100 200 300\n 400 500 600 700\n 800 900]",
      "Array([  0, 100,\n       200, 300,\n       400, 500,\n       600, 700,\n       800, 900],      dtype=int32)");
  });
});

describe("0-d arrays", () => {
  it("str shows the scalar, repr the array element", () => {
    expect(formatStr([3.5], [], float32)).toBe("3.5");
    expect(formatRepr([3.5], [], float32, false)).toBe("Array(3.5, dtype=float32)");
    expect(formatStr([1], [], float32)).toBe("1.0");
    expect(formatRepr([1], [], float32, false)).toBe("Array(1., dtype=float32)");
    expect(formatStr([2], [], int32)).toBe("2");
    expect(formatRepr([2], [], int32, true)).toBe("Array(2, dtype=int32, weak_type=True)");
    expect(formatStr([1], [], bool)).toBe("True");
    expect(formatRepr([1], [], bool, false)).toBe("Array(True, dtype=bool)");
  });
  it("str uses the scalar's notation and full shortest digits", () => {
    expect(formatStr([Math.fround(1e-5)], [], float32)).toBe("1e-05");
    expect(formatRepr([Math.fround(1e-5)], [], float32, false)).toBe("Array(1.e-05, dtype=float32)");
    expect(formatStr([Math.fround(1 / 3)], [], float32)).toBe("0.33333334");
    expect(formatStr([Math.fround(0.1)], [], float32)).toBe("0.1");
    expect(formatStr([Math.fround(123456.79)], [], float32)).toBe("123456.79");
    expect(formatStr([Math.fround(1e20)], [], float32)).toBe("1e+20");
    expect(formatStr([-0], [], float32)).toBe("-0.0");
    expect(formatStr([NaN], [], float32)).toBe("nan");
    expect(formatRepr([Infinity], [], float32, false)).toBe("Array(inf, dtype=float32)");
  });
});

describe("empty arrays", () => {
  it("print [] and JAX's repr names the shape", () => {
    check([], [0], float32, "[]", "Array([], shape=(0,), dtype=float32)");
    expect(formatStr([], [0, 3], float32)).toBe("[]");
    expect(formatRepr([], [0, 3], float32, true)).toBe("Array([], shape=(0, 3), dtype=float32, weak_type=True)");
  });
});

describe("float16 and bfloat16", () => {
  // Decoded float16 values of 0.1, 0.2, 0.3.
  const h = [0.0999755859375, 0.199951171875, 0.300048828125];
  it("float16 prints its own shortest digits", () => {
    check(h, [3], float16, "[0.1 0.2 0.3]", "Array([0.1, 0.2, 0.3], dtype=float16)");
    expect(formatStr([h[0]], [], float16)).toBe("0.1");
    check([h[0], 1000, 65504], [3], float16, "[1.00e-01 1.00e+03 6.55e+04]", "Array([1.00e-01, 1.00e+03, 6.55e+04], dtype=float16)");
    // float16 switches to scientific at 1e3 (numpy >= 2.3); below it, all integer digits show.
    check([512], [1], float16, "[512.]", "Array([512.], dtype=float16)");
    check([42752], [1], float16, "[4.275e+04]", "Array([4.275e+04], dtype=float16)");
  });
  it("bfloat16 prints as ml_dtypes does: %g digits, unpadded", () => {
    check([0.10009765625, 1, 2.5, -3], [4], bfloat16, "[0.100098 1 2.5 -3]", "Array([0.100098, 1, 2.5, -3], dtype=bfloat16)");
    check([1.0013580322265625e-5, 300, NaN], [3], bfloat16, "[1.00136e-05 300 nan]", "Array([1.00136e-05, 300, nan], dtype=bfloat16)");
    expect(formatStr([0.10009765625], [], bfloat16)).toBe("0.100098");
    expect(formatRepr([0.10009765625], [], bfloat16, false)).toBe("Array(0.100098, dtype=bfloat16)");
  });
});

describe("print options", () => {
  it("getPrintOptions returns numpy's defaults and a copy", () => {
    expect(getPrintOptions()).toEqual({ precision: 8, threshold: 1000, edgeitems: 3, linewidth: 75, suppress: false });
    const o = getPrintOptions();
    o.precision = 2;
    expect(getPrintOptions().precision).toBe(8);
  });
  it("rejects bad values", () => {
    expect(() => setPrintOptions({ precision: -1 })).toThrow(/precision/);
    expect(() => setPrintOptions({ linewidth: 1.5 })).toThrow(/linewidth/);
  });
});
