#!/usr/bin/env python3
"""Generates test/reference/jax-numpy.json: reference results computed by REAL JAX.

Usage (on a machine with JAX; CPU platform, x64 off, default config):

    JAX_PLATFORMS=cpu python3 gen_jax_reference.py jax-numpy.json [--jobs=8]

`--numpy-dry-run` runs the same cases through plain NumPy instead (no JAX needed); it only
shakes out mistakes in this script's own case data and decoding, and must never be used to
write the reference file.

A case is data, not code:

    {"id": ..., "fn": "add", "args": [ARG, ...], "kwargs": {...}}

ARG is {"array": nested list, "dtype": "float32"} (the strings "nan", "inf", "-inf" stand for
special floats; an optional "shape" reshapes, for empty arrays), {"scalar": v} (a Python
scalar: weakly typed; the output annotates it with "type": "int" | "float" | "bool" because
JSON cannot tell 3 from 3.0), a plain JSON value (ints, strings, lists of ints: shapes, axes,
subscripts), or a list of ARGs (e.g. concatenate's arrays). kwargs values follow the same rules.

`fn` names jnp.<fn>; the special forms are:
  getitem                    x[index]                 (case key "index": list of items)
  at_set/at_add/at_mul/at_min/at_max/at_get   x.at[index].set(v, **kwargs) ...
Index items: int, "a:b:c" slice strings, "..." (Ellipsis), null (None), true/false, and
{"array": ..., "dtype": "int32" | "bool"}.

Optional case keys read by the TypeScript side: "signed_zero": true (the sign of zeros must
match), "no_values": true (values are unspecified, e.g. jnp.empty), "ulp": N (a wider float
tolerance where XLA's own result is known to be several ulp off).

Each result records shape, dtype name, weak_type, values (nested lists; NaN/inf as strings),
repr(x) and str(x); a tuple/list result records "outputs": [...]; when JAX raises, "error":
{"type", "message"}.
"""

import json
import math
import platform
import sys
import traceback

DRY = "--numpy-dry-run" in sys.argv
argv = [a for a in sys.argv[1:] if not a.startswith("--")]
OUT_PATH = argv[0] if argv else "jax-numpy.json"

import numpy as np

if DRY:
    jnp = np
    jax = None
    BF16 = np.float32  # stand-in
else:
    import jax
    import jax.numpy as jnp
    import jax.nn
    import jax.scipy.special

    BF16 = jnp.bfloat16

DTYPES = {
    "bool": np.bool_, "int8": np.int8, "int16": np.int16, "int32": np.int32,
    "uint8": np.uint8, "uint16": np.uint16, "uint32": np.uint32,
    "float16": np.float16, "bfloat16": BF16, "float32": np.float32,
}

NAN, INF, NINF = "nan", "inf", "-inf"
INT_MIN, INT_MAX = -2147483648, 2147483647

CASES = []
_IDS = set()


def A(data, dtype="float32", shape=None):
    a = {"array": data, "dtype": dtype}
    if shape is not None:
        a["shape"] = shape
    return a


def S(v):
    return {"scalar": v}


def case(id, fn, *args, index=None, signed_zero=False, no_values=False, ulp=None, **kwargs):
    assert id not in _IDS, f"duplicate id {id}"
    _IDS.add(id)
    c = {"id": id, "fn": fn, "args": list(args), "kwargs": kwargs}
    if index is not None:
        c["index"] = index
    if signed_zero:
        c["signed_zero"] = True
    if no_values:
        c["no_values"] = True
    if ulp is not None:
        c["ulp"] = ulp
    CASES.append(c)


def rng_data(shape, lo, hi, seed, step=1.0):
    """Deterministic pseudo-random multiples of `step` in [lo, hi) (exact in float32)."""
    r = np.random.RandomState(seed)
    v = r.randint(int(lo / step), int(hi / step), size=shape) * step
    return v.tolist()


def iota(shape, start=0, step=1):
    n = int(np.prod(shape))
    return (np.arange(n) * step + start).reshape(shape).tolist()


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------

SPECIAL = [NAN, INF, NINF, 0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0e38, 1e-30, 100.0, -100.0, 2.0, 7.25,
           0.999, -0.75, 1.5e-5, 88.5, -104.0, 3.1415927]

UNARY_FLOAT = [
    "sqrt", "cbrt", "exp", "exp2", "expm1", "log", "log1p", "log2", "log10",
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
    "arcsinh", "arccosh", "arctanh", "negative", "positive", "sign", "abs", "fabs", "square",
    "reciprocal", "floor", "ceil", "trunc", "round", "rint", "isnan", "isinf",
    "isfinite", "signbit", "logical_not", "deg2rad", "rad2deg", "sinc", "nan_to_num",
    "isposinf", "isneginf", "spacing",
]
# XLA's exp2/sinh/cosh are 20-70 ulp off near |x| = 100 / 88.5 (Primal may be closer to exact):
# those cases carry a wider tolerance ("ulp") instead of hiding the whole case.
WIDE_ULP = {"exp2": 128, "sinh": 64, "cosh": 64}
for f in UNARY_FLOAT:
    extra = {"ulp": WIDE_ULP[f]} if f in WIDE_ULP else {}
    case(f"unary_{f}_f32_special", f, A(SPECIAL), signed_zero=f in ("negative", "abs", "floor", "ceil", "trunc", "sqrt", "round", "square"), **extra)

# Subnormal float32 inputs and outputs (XLA on CPU flushes them to zero).
SUBN = [1e-40, -1e-40, 1e-45, 1.1754942e-38, 1.17549435e-38, 0.0]
for f in ["sqrt", "sign", "ceil", "floor", "negative", "abs", "reciprocal", "log", "exp", "logical_not", "isfinite", "signbit"]:
    case(f"subnormal_{f}", f, A(SUBN))
case("subnormal_mul_out", "multiply", A([1e-20, 1e-19, 1e-30]), A([1e-20, 1e-20, 1e-10]))
case("subnormal_add", "add", A(SUBN), S(0.0))
case("subnormal_div_out", "divide", A([1e-30, 1e-38]), S(1e10))
case("subnormal_sum", "sum", A([1e-40, 1e-40, 1e-40]))
case("subnormal_max", "max", A([1e-40, 0.0]))
case("subnormal_asarray", "asarray", A(SUBN))
case("subnormal_astype_f16", "astype", A([1e-5, 6e-8, 1e-8]), "float16")
case("subnormal_f16_mul", "multiply", A([6e-5, 1e-3], "float16"), A([0.01, 0.01], "float16"))

# Unary ops on other dtypes: promotion to float for transcendental, dtype preserved otherwise.
I32 = [-7, -1, 0, 1, 2, 5, 100, INT_MAX, INT_MIN]
for f in ["sqrt", "exp", "sin", "negative", "abs", "sign", "square", "floor", "ceil", "round", "reciprocal", "log1p", "isnan", "logical_not", "cbrt"]:
    case(f"unary_{f}_i32", f, A(I32, "int32"))
for f in ["negative", "abs", "sign", "square", "sqrt"]:
    case(f"unary_{f}_i8", f, A([-128, -5, 0, 3, 127], "int8"))
    case(f"unary_{f}_u8", f, A([0, 1, 5, 200, 255], "uint8"))
for f in ["negative", "abs", "sqrt", "square"]:
    case(f"unary_{f}_bool", f, A([True, False], "bool"))
for f in ["exp", "sqrt", "sin", "log", "tanh", "negative", "reciprocal", "floor", "round"]:
    case(f"unary_{f}_f16", f, A([0.1, 1.5, -2.25, 10.0, 65504.0, 6e-8, NAN], "float16"))
    case(f"unary_{f}_bf16", f, A([0.1, 1.5, -2.25, 10.0, 3e38, 1e-38, NAN], "bfloat16"))
case("unary_sqrt_weak_int", "sqrt", S(2))
case("unary_sqrt_weak_float", "sqrt", S(2.0))
case("unary_exp_weak_float", "exp", S(1.0))
case("unary_negative_weak_int", "negative", S(3))
case("round_decimals_2", "round", A([1.2345, -2.675, 0.125, 1e10, NAN]), 2)
case("round_decimals_neg1", "round", A([15.0, 25.0, -35.0, 1234.5]), -1)
case("round_half_even", "round", A([0.5, 1.5, 2.5, -0.5, -1.5, 3.5]), signed_zero=True)
case("round_int_decimals_neg1", "round", A([15, 25, -35, 1234], "int32"), -1)
case("nan_to_num_kwargs", "nan_to_num", A([NAN, INF, NINF, 1.0]), nan=-1.0, posinf=9.0, neginf=-9.0)

# Binary float ops: every pair of SPECIAL2 through broadcasting [9,1] op [9].
SPECIAL2 = [NAN, INF, NINF, 0.0, -0.0, 1.0, -1.5, 2.5, -3.0]
COL = A([[v] for v in SPECIAL2])
ROW = A(SPECIAL2)
BINARY_FLOAT = [
    "add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "remainder", "fmod",
    "power", "maximum", "minimum", "fmax", "fmin", "arctan2", "logaddexp", "logaddexp2", "nextafter",
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
    "logical_or", "logical_xor", "hypot", "copysign", "heaviside", "float_power", "divmod", "ldexp_skip",
]
for f in BINARY_FLOAT:
    if f == "ldexp_skip":
        continue
    case(f"binary_{f}_f32_outer", f, COL, ROW, signed_zero=f in ("multiply", "divide", "fmod", "remainder", "copysign"))

# Broadcasting and scalars.
X23 = A([[1.5, -2.0, 3.0], [0.25, 5.0, -6.5]])
case("bcast_add_23_3", "add", X23, A([10.0, 20.0, 30.0]))
case("bcast_add_23_21", "add", X23, A([[100.0], [200.0]]))
case("bcast_add_13_21", "add", A([[1.0, 2.0, 3.0]]), A([[10.0], [20.0]]))
case("bcast_mul_234_4", "multiply", A(iota([2, 3, 4])), A([1.0, -1.0, 0.5, 2.0]))
case("bcast_sub_0d_23", "subtract", A(2.0), X23)
case("bcast_add_23_2_error", "add", X23, A([1.0, 2.0]))
case("bcast_add_23_weak_float", "add", X23, S(0.5))
case("bcast_add_i32_weak_float", "add", A([1, 2, 3], "int32"), S(0.5))
case("bcast_add_i32_weak_int", "add", A([1, 2, 3], "int32"), S(2))
case("bcast_add_u8_weak_int_wrap", "add", A([250, 1], "uint8"), S(10))
case("bcast_add_weak_int_weak_float", "add", S(1), S(2.5))
case("bcast_add_weak_int_weak_int", "add", S(1), S(2))
case("bcast_mul_bool_weak_int", "multiply", A([True, False], "bool"), S(3))
case("bcast_add_bool_bool", "add", A([True, False, True], "bool"), A([True, False, False], "bool"))
case("bcast_sub_bool_error", "subtract", A([True], "bool"), A([False], "bool"))
case("bcast_div_i32_i32", "divide", A([1, 7, -7], "int32"), A([2, 2, 2], "int32"))
case("bcast_greater_i32_weak_float", "greater", A([1, 2, 3], "int32"), S(1.5))
case("cmp_weak_weak", "less", S(1), S(2.5))
case("cmp_i32_weakint", "equal", A([1, 2], "int32"), S(2))
case("cmp_f16_weakfloat", "greater", A([1.0, 2.0], "float16"), S(1.5))
case("cmp_weakfloat_arr_weak", "less_equal", A(1.0), S(1.5))
case("cmp_bool_weakint", "equal", A([True, False], "bool"), S(1))
case("logical_and_weak", "logical_and", S(1.5), S(0))
case("maximum_weak_weak", "maximum", S(1), S(2.5))
case("bcast_empty_add", "add", A([], "float32", shape=[0, 3]), A([1.0, 2.0, 3.0]))

# Integer division family with negative and zero divisors.
IX = [7, -7, 7, -7, 0, 5, -5, INT_MIN, INT_MIN, INT_MAX, 1]
IY = [2, 2, -2, -2, 3, 0, 0, -1, 1, -1, INT_MIN]
for f in ["floor_divide", "remainder", "fmod", "divide", "true_divide", "divmod", "mod"]:
    case(f"int_{f}_i32", f, A(IX, "int32"), A(IY, "int32"))
for f in ["floor_divide", "remainder", "fmod"]:
    case(f"int_{f}_i8", f, A([7, -7, -128, -128, 5, 127], "int8"), A([-2, 2, -1, 0, 0, -128], "int8"))
    case(f"int_{f}_u8", f, A([7, 0, 255, 200, 9], "uint8"), A([2, 3, 0, 7, 255], "uint8"))
    case(f"int_{f}_u32", f, A([4294967295, 7, 10, 0], "uint32"), A([2, 0, 3, 5], "uint32"))
    case(f"int_{f}_i32_weak_neg", f, A([7, -7, 0, 9], "int32"), S(-3))
    case(f"int_{f}_weak_float_divisor", f, A([7, -7, 0, 9], "int32"), S(2.5))
case("int_subtract_u8_wrap", "subtract", A([0, 1, 5], "uint8"), A([1, 2, 10], "uint8"))
case("int_subtract_u32_wrap", "subtract", A([0, 3], "uint32"), A([1, 4], "uint32"))
case("int_add_i32_overflow", "add", A([INT_MAX, INT_MIN], "int32"), A([1, -1], "int32"))
case("int_multiply_i32_overflow", "multiply", A([65536, INT_MAX, -3], "int32"), A([65536, 2, INT_MIN], "int32"))
case("int_multiply_i8_overflow", "multiply", A([100, -100, 16], "int8"), A([3, 3, 16], "int8"))
case("int_negative_u32", "negative", A([0, 1, 4294967295], "uint32"))
case("int_abs_i32_min", "abs", A([INT_MIN, -5], "int32"))
for f in ["bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift"]:
    case(f"bitwise_{f}_i32", f, A([12, -12, 255, INT_MIN, 1], "int32"), A([10, 3, 8, 1, 31], "int32"))
    case(f"bitwise_{f}_u8", f, A([12, 200, 255, 1], "uint8"), A([10, 3, 7, 9], "uint8"))
case("bitwise_invert_i32", "invert", A([0, -1, 5, INT_MIN], "int32"))
case("bitwise_invert_u8", "invert", A([0, 1, 255], "uint8"))
case("bitwise_invert_bool", "invert", A([True, False], "bool"))
case("bitwise_and_bool", "bitwise_and", A([True, True, False], "bool"), A([True, False, False], "bool"))
case("bitwise_and_float_error", "bitwise_and", A([1.0]), A([1.0]))
case("left_shift_i32_oversize", "left_shift", A([1, 1, -1], "int32"), A([32, 40, 33], "int32"))
case("right_shift_i32_oversize", "right_shift", A([-8, 8, INT_MIN], "int32"), A([32, 40, 31], "int32"))
case("right_shift_u32", "right_shift", A([4294967295, 8], "uint32"), A([4, 40], "uint32"))

# Power.
case("power_f32_int_exponents", "power", A([[2.0], [-2.0], [0.0], [0.5], [NAN], [INF], [-1.0]]), A([0, 1, 2, 3, -1, -2], "int32"))
case("power_f32_float_exponents", "power", A([[2.0], [-2.0], [0.0], [-0.0], [1.0], [INF], [NINF], [NAN]]), A([0.0, 0.5, -0.5, 2.0, INF, NINF, NAN, 3.0]))
case("power_i32_i32", "power", A([2, -2, 3, 0, 1, -1, 10], "int32"), A([3, 3, 0, 0, 100, 7, 10], "int32"))
case("power_i32_negative_exponent", "power", A([2, -1, 1, 0], "int32"), A([-1, -3, -2, -1], "int32"))
case("power_i8_overflow", "power", A([2, 3, -2], "int8"), A([7, 5, 7], "int8"))
case("power_i32_weak_int", "power", A([1, 2, 3, -4], "int32"), S(2))
case("power_f32_weak_int", "power", A([1.5, -2.0, 0.0]), S(3))
case("power_f32_weak_float", "power", A([4.0, -4.0, 0.0, 2.25]), S(0.5))
case("power_weak_int_base", "power", S(2), A([0, 1, 10, 30, 31], "int32"))
case("power_weak_float_base", "power", S(2.0), A([0.0, -1.0, 10.5]))
case("power_u8", "power", A([2, 3, 255], "uint8"), A([7, 5, 2], "uint8"))
case("power_bool_bool", "power", A([True, False], "bool"), A([True, True], "bool"))

# Type promotion of add for every pair (values 1 + 1), plus weak scalars.
PROMO = ["bool", "uint8", "uint16", "uint32", "int8", "int16", "int32", "bfloat16", "float16", "float32"]
for a in PROMO:
    for b in PROMO:
        case(f"promo_add_{a}_{b}", "add", A([True] if a == "bool" else [1], a), A([True] if b == "bool" else [2], b))
    one = [True] if a == "bool" else [1]
    case(f"promo_add_{a}_weakint", "add", A(one, a), S(1))
    case(f"promo_add_weakint_{a}", "add", S(1), A(one, a))
    case(f"promo_add_{a}_weakfloat", "add", A(one, a), S(1.5))
    case(f"promo_add_weakfloat_{a}", "add", S(1.5), A(one, a))
    case(f"promo_add_{a}_pybool", "add", A(one, a), S(True))
case("promo_add_weakfloat_weakfloat", "add", S(1.0), S(2.0))
case("promo_add_pybool_pybool", "add", S(True), S(False))
case("promo_add_weakint_pybool", "add", S(1), S(True))
case("promo_add_i32_0d_strong_f16", "add", A(1, "int32"), A([1.0], "float16"))
case("promo_add_f32_0d_strong_i8", "add", A(1.0, "float32"), A([1], "int8"))
case("promo_where_weak", "where", A([True, False], "bool"), S(1), S(2.5))
case("promo_where_i8_weakint", "where", A([True, False], "bool"), A([1, 2], "int8"), S(300))
case("promo_maximum_u32_i32", "maximum", A([4294967295, 0], "uint32"), A([-1, 5], "int32"))

# Reductions.
F234 = rng_data([2, 3, 4], -8, 8, 1, step=0.25)
I234 = rng_data([2, 3, 4], -20, 20, 2)
I234 = [[[int(v) for v in r] for r in m] for m in I234]
FNAN = [[1.0, NAN, 3.0], [4.0, 5.0, -6.0]]
B23 = [[True, False, True], [True, True, True]]
RED = ["sum", "prod", "mean", "var", "std", "max", "min", "argmax", "argmin", "all", "any", "cumsum", "cumprod", "ptp", "nansum", "nanmax", "nanmin", "nanmean", "count_nonzero"]
RED_EXTRA = ["median", "average", "nanprod", "nanstd", "nanvar", "cumulative_sum", "nanargmax", "nancumsum"]
AXES = {"none": None, "ax0": 0, "axm1": -1, "ax02": [0, 2]}
NO_TUPLE_AXIS = ("argmax", "argmin", "cumsum", "cumprod", "cumulative_sum", "nanargmax", "nancumsum")
for f in RED:
    for an, ax in AXES.items():
        if f in NO_TUPLE_AXIS and isinstance(ax, list):
            continue
        kw = {} if ax is None else {"axis": ax}
        case(f"red_{f}_f32_{an}", f, A(F234), **kw)
        if an in ("none", "ax0"):
            case(f"red_{f}_i32_{an}", f, A(I234, "int32"), **kw)
    case(f"red_{f}_f32_nan", f, A(FNAN), axis=1)
    case(f"red_{f}_bool", f, A(B23, "bool"), axis=0)
    if f not in NO_TUPLE_AXIS:
        case(f"red_{f}_f32_keepdims", f, A(F234), axis=[0, 2], keepdims=True)
        case(f"red_{f}_f32_keepdims_none", f, A(F234), keepdims=True)
    case(f"red_{f}_i8", f, A([[100, 100, -128], [1, 2, 3]], "int8"), axis=0)
    case(f"red_{f}_u8", f, A([[200, 100], [3, 255]], "uint8"), axis=1)
    case(f"red_{f}_f16", f, A([[1.5, 2.25], [3.0, 60000.0]], "float16"), axis=0)
    case(f"red_{f}_empty", f, A([], "float32", shape=[0]))
    case(f"red_{f}_0d", f, A(2.5, "float32"))
for f in RED_EXTRA:
    case(f"red_{f}_f32_ax0", f, A(F234), axis=0)
    case(f"red_{f}_f32_nan", f, A(FNAN), axis=1)
    case(f"red_{f}_i32_axm1", f, A(I234, "int32"), axis=-1)
for f in ["argmax", "argmin"]:
    case(f"red_{f}_keepdims", f, A(F234), axis=1, keepdims=True)
    case(f"red_{f}_ties", f, A([3.0, 1.0, 3.0, 1.0]))
    case(f"red_{f}_nan_first", f, A([1.0, NAN, 5.0, NAN]))
    case(f"red_{f}_signed_zero", f, A([0.0, -0.0, 0.0]))
case("red_sum_dtype_f32_from_i32", "sum", A(I234, "int32"), dtype="float32")
case("red_sum_dtype_i8_overflow", "sum", A([100, 100], "int8"), dtype="int8")
case("red_mean_dtype_f16", "mean", A([1.0, 2.0, 4.0]), dtype="float16")
case("red_var_ddof1", "var", A(F234), axis=1, ddof=1)
case("red_std_ddof1", "std", A(F234), ddof=1)
case("red_var_ddof_too_big", "var", A([1.0, 2.0]), ddof=2)
case("red_sum_axis_oob_error", "sum", A(F234), axis=3)
case("red_sum_axis_dup_error", "sum", A(F234), axis=[0, 0])
case("red_sum_where", "sum", A([1.0, 2.0, 4.0]), where=A([True, False, True], "bool"))
case("red_max_initial", "max", A([1.0, 2.0]), initial=5.0)
case("red_max_empty_initial", "max", A([], "float32", shape=[0]), initial=-1.0)
case("red_cumsum_axis_none_2d", "cumsum", A([[1, 2], [3, 4]], "int32"))
case("red_cumsum_nan", "cumsum", A([1.0, NAN, 2.0]))
case("red_mean_inf", "mean", A([INF, NINF, 1.0]))
case("red_max_inf_nan", "max", A([NINF, NAN, INF]))
case("red_all_f32", "all", A([1.0, NAN, -0.0]))
case("red_any_f32", "any", A([0.0, -0.0]))
case("red_average_weights", "average", A([1.0, 2.0, 4.0]), weights=A([1.0, 0.0, 3.0]))
case("red_average_weights_axis", "average", A([[1.0, 2.0], [3.0, 4.0]]), axis=1, weights=A([1.0, 3.0]))
for mod in ["logsumexp"]:
    case("lse_basic", mod, A([1.0, 2.0, 3.0]))
    case("lse_axis", mod, A(F234), axis=1)
    case("lse_keepdims", mod, A(F234), axis=[0, 2], keepdims=True)
    case("lse_neg_inf", mod, A([NINF, NINF]))
    case("lse_pos_inf", mod, A([INF, 1.0]))
    case("lse_nan", mod, A([NAN, 1.0]))
    case("lse_large", mod, A([1000.0, 1000.0, -1000.0]))
    case("lse_i32", mod, A([1, 2], "int32"))
    case("lse_empty", mod, A([], "float32", shape=[0]))
    case("lse_b", mod, A([1.0, 2.0, 3.0]), b=A([1.0, 0.0, 2.0]))
case("quantile_linear", "quantile", A([1.0, 7.0, 3.0, 4.0]), S(0.4))
case("quantile_vec", "quantile", A([[1.0, 7.0, 3.0], [4.0, 2.0, 9.0]]), A([0.0, 0.5, 1.0]), axis=1)
for m in ["lower", "higher", "midpoint", "nearest"]:
    case(f"quantile_{m}", "quantile", A([1.0, 7.0, 3.0, 4.0, 10.0]), A([0.1, 0.3, 0.5, 0.9]), method=m)
case("percentile_basic", "percentile", A([1.0, 7.0, 3.0, 4.0]), S(50))
case("median_even", "median", A([4.0, 1.0, 3.0, 2.0]))
case("median_nan", "median", A([4.0, NAN, 3.0]))

# Creation.
case("arange_5", "arange", 5)
case("arange_float_step_01", "arange", 0, 1, 0.1)
case("arange_float_step_03", "arange", 1, 2, 0.3)
case("arange_neg_step", "arange", 10, 0, -3)
case("arange_float_neg", "arange", -3, 3, 1.5)
case("arange_float_start", "arange", 0.5, 3)
case("arange_dtype_f32", "arange", 0, 5, dtype="float32")
case("arange_dtype_u8", "arange", 3, dtype="uint8")
case("arange_empty", "arange", 5, 2)
case("arange_step0_error", "arange", 0, 5, 0)
case("arange_fine", "arange", 0, 1, 1 / 3)
case("linspace_5", "linspace", 0, 1, 5)
case("linspace_no_endpoint", "linspace", 0, 1, 5, endpoint=False)
case("linspace_default_num", "linspace", 2, 3)
case("linspace_int_dtype", "linspace", 2, 9, 4, dtype="int32")
case("linspace_neg_int_dtype", "linspace", -5, 5, 4, dtype="int32")
case("linspace_num1", "linspace", 2.5, 3, 1)
case("linspace_num0", "linspace", 2.5, 3, 0)
case("linspace_reverse", "linspace", 1, -1, 7)
case("linspace_thirds", "linspace", 0, 1, 7)
case("linspace_11", "linspace", 0, 1, 11)
case("linspace_sym", "linspace", -1, 1, 5)
case("linspace_reverse5", "linspace", 1, -1, 5)
case("linspace_frac", "linspace", 0.1, 0.9, 9)
case("linspace_reverse_no_endpoint", "linspace", 1, -1, 6, endpoint=False)
case("linspace_big", "linspace", -1000, 3, 7)
case("arange_03_09", "arange", 0, 0.9, 0.3)
case("arange_1_13", "arange", 1.0, 1.3, 0.1)
case("linspace_array_ends", "linspace", A([0.0, 10.0]), A([1.0, 20.0]), 3)
case("linspace_array_ends_axis1", "linspace", A([0.0, 10.0]), A([1.0, 20.0]), 3, axis=1)
case("logspace_basic", "logspace", 0, 2, 3)
case("logspace_base2", "logspace", 0, 4, 5, base=2.0)
case("geomspace_basic", "geomspace", 1, 1000, 4)
case("eye_3", "eye", 3)
case("eye_3_4_k1", "eye", 3, 4, k=1)
case("eye_3_km1", "eye", 3, k=-1)
case("eye_k_oob", "eye", 2, 3, k=5)
case("eye_int", "eye", 2, dtype="int32")
case("identity_3_bool", "identity", 3, dtype="bool")
case("tri_3", "tri", 3)
case("tri_3_4_k1", "tri", 3, 4, k=1)
case("tri_3_km1_int", "tri", 3, k=-1, dtype="int32")
case("full_weak_float", "full", [2, 2], S(2.5))
case("full_weak_int", "full", [3], S(7))
case("full_bool", "full", [2], S(True))
case("full_dtype", "full", [2, 3], S(1.5), dtype="int32")
case("full_array_fill", "full", [2, 3], A([1.0, 2.0, 3.0]))
case("full_nan", "full", [2], S(NAN))
case("zeros_23", "zeros", [2, 3])
case("zeros_int", "zeros", 4, dtype="int32")
case("ones_bool", "ones", [2], dtype="bool")
case("ones_bf16", "ones", [2], dtype="bfloat16")
case("zeros_like_i32", "zeros_like", A([[1, 2], [3, 4]], "int32"))
case("zeros_like_weak", "zeros_like", S(2.5))
case("ones_like_dtype", "ones_like", A([1.0, 2.0]), dtype="int8")
case("full_like_weak_f", "full_like", A([1, 2], "int32"), S(2.7))
case("full_like_f16", "full_like", A([1.0, 2.0], "float16"), S(1e5))
case("empty_like", "empty_like", A([1.0, 2.0]), no_values=True)
case("asarray_weak_float", "asarray", S(2.5))
case("asarray_weak_int", "asarray", S(3))
case("asarray_bool", "asarray", S(True))
case("array_dtype_cast", "array", A([1.7, -1.7, 2.5]), dtype="int32")
case("meshgrid_xy", "meshgrid", A([1, 2, 3], "int32"), A([10, 20], "int32"))
case("meshgrid_ij", "meshgrid", A([1, 2, 3], "int32"), A([10, 20], "int32"), indexing="ij")

# Casts.
CASTSRC = [NAN, INF, NINF, 3e9, -3e9, 2.7, -2.7, 0.5, -0.5, 255.9, 256.0, -1.0, 70000.0, 1e-8, 65519.0, 65520.0]
for d in ["int32", "int8", "uint8", "uint32", "bool", "float16", "bfloat16", "int16", "uint16"]:
    case(f"astype_f32_to_{d}", "astype", A(CASTSRC), d)
case("astype_i32_to_i8", "astype", A([300, -200, 127, -129], "int32"), "int8")
case("astype_i32_to_u8", "astype", A([300, -1, 255], "int32"), "uint8")
case("astype_i32_to_f16", "astype", A([2049, 65536, -70000], "int32"), "float16")
case("astype_i32_to_bf16", "astype", A([257, 65536, INT_MAX], "int32"), "bfloat16")
case("astype_i32_to_f32", "astype", A([16777217, INT_MAX, INT_MIN], "int32"), "float32")
case("astype_u32_to_i32", "astype", A([4294967295, 2147483648], "uint32"), "int32")
case("astype_u32_to_f32", "astype", A([4294967295, 16777217], "uint32"), "float32")
case("astype_i32_to_bool", "astype", A([0, 1, -5], "int32"), "bool")
case("astype_bool_to_f32", "astype", A([True, False], "bool"), "float32")
case("astype_f16_to_f32", "astype", A([0.1, 65504.0], "float16"), "float32")
case("astype_bf16_to_f16", "astype", A([0.1, 3e38], "bfloat16"), "float16")

# Shape ops.
X24 = A(iota([2, 3, 4]), "int32")
XF = A(iota([2, 3], 0, 0.5))
case("reshape_m1", "reshape", X24, [4, -1])
case("reshape_m1_first", "reshape", X24, [-1, 6])
case("reshape_bad_error", "reshape", X24, [5, -1])
case("reshape_two_m1_error", "reshape", X24, [-1, -1])
case("reshape_scalar", "reshape", A([5.0]), [])
case("transpose_default", "transpose", X24)
case("transpose_axes", "transpose", X24, [1, 0, 2])
case("transpose_neg_axes", "transpose", X24, [-1, 0, 1])
case("transpose_bad_error", "transpose", X24, [0, 0, 1])
case("moveaxis_0_m1", "moveaxis", X24, 0, -1)
case("moveaxis_multi", "moveaxis", X24, [0, 1], [2, 0])
case("swapaxes_0_2", "swapaxes", X24, 0, 2)
case("expand_dims_tuple", "expand_dims", XF, [0, 3])
case("squeeze_all", "squeeze", A([[[1.0], [2.0]]]))
case("squeeze_axis_error", "squeeze", A([[1.0, 2.0]]), axis=1)
case("ravel_2d", "ravel", XF)
case("concat_promote", "concatenate", [A([1, 2], "int32"), A([0.5], "float32")])
case("concat_u8_i8", "concatenate", [A([1, 200], "uint8"), A([-1], "int8")])
case("concat_axis1", "concatenate", [XF, A([[9.0], [8.0]])], axis=1)
case("concat_axis_none", "concatenate", [XF, A([7.0])], axis=None)
case("concat_rank_error", "concatenate", [XF, A([7.0])])
case("concat_weak", "concatenate", [A([1], "int8"), A([2], "int8")])
case("stack_axis0", "stack", [A([1, 2], "int32"), A([3, 4], "int32")])
case("stack_axis_m1", "stack", [A([1.0, 2.0]), A([3.0, 4.0]), A([5.0, 6.0])], axis=-1)
case("stack_shape_error", "stack", [A([1.0, 2.0]), A([3.0])])
case("hstack_1d", "hstack", [A([1, 2], "int32"), A([3], "int32")])
case("vstack_1d", "vstack", [A([1, 2], "int32"), A([3, 4], "int32")])
case("dstack_2d", "dstack", [A([[1, 2]], "int32"), A([[3, 4]], "int32")])
case("column_stack", "column_stack", [A([1, 2], "int32"), A([3, 4], "int32")])
case("split_3", "split", A(iota([6])), 3)
case("split_indices", "split", A(iota([7])), [2, 5])
case("split_indices_oob", "split", A(iota([5])), [2, 9])
case("split_axis1", "split", X24, 2, axis=2)
case("split_uneven_error", "split", A(iota([7])), 3)
case("array_split_uneven", "array_split", A(iota([7])), 3)
case("tile_int", "tile", A([1, 2], "int32"), 3)
case("tile_2d", "tile", A([[1, 2]], "int32"), [2, 2])
case("tile_more_reps", "tile", A([1, 2], "int32"), [2, 1, 2])
case("repeat_scalar", "repeat", A([[1, 2], [3, 4]], "int32"), 2)
case("repeat_axis0", "repeat", A([[1, 2], [3, 4]], "int32"), 2, axis=0)
case("repeat_array", "repeat", A([1, 2, 3], "int32"), A([0, 2, 1], "int32"))
case("repeat_array_axis1", "repeat", A([[1, 2], [3, 4]], "int32"), A([1, 3], "int32"), axis=1)
case("flip_none", "flip", X24)
case("flip_axis1", "flip", X24, 1)
case("flip_tuple", "flip", X24, [0, 2])
case("fliplr", "fliplr", XF)
case("flipud", "flipud", XF)
case("rot90_1", "rot90", XF)
case("rot90_k3", "rot90", XF, 3)
case("roll_none", "roll", X24, 5)
case("roll_none_neg", "roll", A([[1, 2, 3], [4, 5, 6]], "int32"), -1)
case("roll_axis1", "roll", X24, 1, axis=1)
case("roll_tuple", "roll", X24, [1, -2], axis=[0, 2])
case("roll_big_shift", "roll", A([1, 2, 3], "int32"), 10)
PADX = A([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
for mode in ["constant", "edge", "reflect", "symmetric", "wrap", "linear_ramp", "maximum", "minimum", "mean", "median"]:
    case(f"pad_{mode}", "pad", PADX, [[1, 2], [2, 1]], mode=mode)
case("pad_reflect_wide", "pad", A([1, 2, 3], "int32"), [5, 4], mode="reflect")
case("pad_symmetric_wide", "pad", A([1, 2, 3], "int32"), [5, 4], mode="symmetric")
case("pad_wrap_wide", "pad", A([1, 2, 3], "int32"), [5, 4], mode="wrap")
case("pad_constant_values", "pad", PADX, 1, constant_values=S(9.5))
case("pad_constant_pairs", "pad", PADX, [[1, 0], [0, 1]], constant_values=[[7, 8], [9, 10]])
case("pad_int_weak_float", "pad", A([1, 2], "int32"), 1, constant_values=S(2.7))
case("pad_scalar_width", "pad", A([1, 2], "int32"), 2)
case("pad_neg_error", "pad", A([1, 2], "int32"), -1)
case("pad_linear_ramp_end", "pad", A([1.0, 5.0]), [2, 3], mode="linear_ramp", end_values=[0, 10])
M34 = A(iota([3, 4]), "int32")
for off in [0, 1, -1, 3, -4]:
    case(f"diagonal_off{off}", "diagonal", M34, off)
case("diagonal_3d", "diagonal", X24, 0, 0, 2)
case("diagonal_3d_axes12", "diagonal", X24, 1, 1, 2)
case("trace_basic", "trace", M34)
case("trace_offset", "trace", M34, 1)
case("trace_3d", "trace", X24, 0, 1, 2)
case("trace_bool", "trace", A([[True, True], [False, True]], "bool"))
case("trace_u8", "trace", A([[200, 1], [0, 100]], "uint8"))
for k in [0, 1, -1, 5, -5]:
    case(f"tril_k{k}", "tril", M34, k)
    case(f"triu_k{k}", "triu", M34, k)
case("tril_3d", "tril", X24)
case("diag_vector_k1", "diag", A([1, 2, 3], "int32"), 1)
case("diag_matrix_km1", "diag", M34, -1)
case("broadcast_to_basic", "broadcast_to", A([1.0, 2.0]), [3, 2])
case("broadcast_to_error", "broadcast_to", A([1.0, 2.0]), [3, 3])
case("broadcast_arrays", "broadcast_arrays", A([[1], [2]], "int32"), A([1.0, 2.0, 3.0]))
case("atleast_2d", "atleast_2d", A([1, 2], "int32"))
case("atleast_3d", "atleast_3d", A([[1, 2]], "int32"))
case("unravel_index", "unravel_index", A([0, 5, 11, -1, 12], "int32"), [3, 4])
case("ravel_multi_index", "ravel_multi_index", [A([0, 2], "int32"), A([1, 3], "int32")], [3, 4])

# Contractions (exactly representable data, so results are exact whatever the order).
V3 = A([1.0, -2.0, 0.5])
M23 = A(rng_data([2, 3], -4, 4, 3, 0.5))
M32 = A(rng_data([3, 2], -4, 4, 4, 0.5))
T234 = A(rng_data([2, 3, 4], -4, 4, 5, 0.5))
T243 = A(rng_data([2, 4, 3], -4, 4, 6, 0.5))
case("dot_1d_1d", "dot", V3, A([4.0, 0.25, -1.0]))
case("dot_2d_1d", "dot", M23, V3)
case("dot_1d_2d", "dot", V3, M32)
case("dot_2d_2d", "dot", M23, M32)
case("dot_3d_2d", "dot", T234, A(rng_data([4, 2], -4, 4, 7, 0.5)))
case("dot_3d_3d", "dot", T234, T243)
case("dot_0d", "dot", S(2.0), M23)
case("dot_int", "dot", A([[1, 2], [3, 4]], "int32"), A([[5, 6], [7, 8]], "int32"))
case("dot_int8_overflow", "dot", A([100, 100], "int8"), A([2, 1], "int8"))
case("dot_int_float", "dot", A([1, 2], "int32"), A([0.5, 0.25]))
case("dot_bool", "dot", A([True, True, False], "bool"), A([True, True, True], "bool"))
case("dot_mismatch_error", "dot", M23, M23)
case("dot_f16", "dot", A([1.5, 2.0, 3.0], "float16"), A([2.0, 0.5, 1.0], "float16"))
case("dot_bf16", "dot", A([[1.5, 2.0], [3.0, 1.0]], "bfloat16"), A([[2.0], [0.5]], "bfloat16"))
case("matmul_2d", "matmul", M23, M32)
case("matmul_batch_bcast", "matmul", A(rng_data([2, 1, 3, 4], -4, 4, 8, 0.5)), A(rng_data([5, 4, 2], -4, 4, 9, 0.5)))
case("matmul_1d_3d", "matmul", A([1.0, 2.0, 3.0]), A(rng_data([2, 3, 2], -4, 4, 10, 0.5)))
case("matmul_3d_1d", "matmul", T234, A([1.0, 0.0, -1.0, 0.5]))
case("matmul_1d_1d", "matmul", V3, V3)
case("matmul_mismatch_error", "matmul", M23, M23)
case("matmul_scalar_error", "matmul", S(2.0), M23)
case("matmul_int", "matmul", A([[1, 2], [3, 4]], "int32"), A([[5], [6]], "int32"))
case("matmul_u8_i8", "matmul", A([[1, 2]], "uint8"), A([[-1], [3]], "int8"))
case("tensordot_1", "tensordot", M23, M32, 1)
case("tensordot_2", "tensordot", T234, A(rng_data([3, 4], -4, 4, 11, 0.5)), 2)
case("tensordot_0", "tensordot", V3, A([1.0, 2.0]), 0)
case("tensordot_pairs", "tensordot", T234, T243, [[1, 2], [2, 1]])
case("tensordot_lists", "tensordot", M23, T243, [[1], [2]])
case("einsum_diag", "einsum", "ii->i", A(iota([3, 3]), "int32"))
case("einsum_trace", "einsum", "ii", A(iota([3, 3]), "int32"))
case("einsum_matmul_implicit", "einsum", "ij,jk", M23, M32)
case("einsum_matmul_explicit", "einsum", "ij,jk->ik", M23, M32)
case("einsum_batch_ellipsis", "einsum", "...ij,...jk->...ik", T234, A(rng_data([2, 4, 2], -4, 4, 12, 0.5)))
case("einsum_transpose_explicit", "einsum", "ij->ji", M23)
case("einsum_implicit_transpose", "einsum", "ji", M23)
case("einsum_implicit_order", "einsum", "ba,ca", A(iota([2, 3], 0, 0.5)), A(iota([4, 3], 0, 0.5)))
case("einsum_inner", "einsum", "i,i", V3, V3)
case("einsum_outer", "einsum", "i,j->ij", V3, A([1.0, 2.0]))
case("einsum_sum_all", "einsum", "ijk->", T234)
case("einsum_bmm", "einsum", "bij,bjk->bik", T234, A(rng_data([2, 4, 2], -4, 4, 13, 0.5)))
case("einsum_three", "einsum", "ij,jk,kl->il", M23, M32, A([[1.0, 0.5], [2.0, -1.0]]))
case("einsum_int", "einsum", "ij,j->i", A([[1, 2], [3, 4]], "int32"), A([5, 6], "int32"))
case("einsum_mixed_dtype", "einsum", "i,i->", A([1, 2], "int32"), A([0.5, 0.25]))
case("einsum_bad_error", "einsum", "ij,jk->ik", M23, M23)
case("einsum_repeated_out", "einsum", "iij->ij", A(iota([2, 2, 3]), "int32"))
case("einsum_ellipsis_broadcast", "einsum", "...i,i->...", A(iota([2, 3], 0, 0.5)), V3)
case("inner_1d", "inner", V3, A([2.0, 1.0, 4.0]))
case("inner_2d", "inner", M23, A(iota([4, 3], 0, 0.5)))
case("outer_basic", "outer", V3, A([1.0, 2.0]))
case("outer_2d_flatten", "outer", A([[1, 2], [3, 4]], "int32"), A([1, -1], "int32"))
case("vdot_2d", "vdot", A([[1.0, 2.0], [3.0, 4.0]]), A([[0.5, 1.0], [-1.0, 2.0]]))
case("kron_basic", "kron", A([[1, 2], [3, 4]], "int32"), A([[0, 1], [1, 0]], "int32"))
case("kron_1d_2d", "kron", A([1.0, 2.0]), A([[1.0], [3.0]]))
case("cross_3", "cross", A([1.0, 2.0, 3.0]), A([4.0, 5.0, 6.0]))

# Sorting.
SORTX = [3.0, NAN, -0.0, 0.0, NINF, 1.0, NAN, INF, -1.0, 0.0, -0.0]
case("sort_nan_zero", "sort", A(SORTX), signed_zero=True)
case("argsort_nan_zero", "argsort", A(SORTX))
case("sort_descending", "sort", A(SORTX), descending=True, signed_zero=True)
case("argsort_descending", "argsort", A(SORTX), descending=True)
case("argsort_stable_ties", "argsort", A([2, 1, 2, 1, 2, 0], "int32"))
case("argsort_descending_ties", "argsort", A([2, 1, 2, 1, 2, 0], "int32"), descending=True)
case("sort_axis0", "sort", A([[3, 1], [2, 5], [1, 0]], "int32"), axis=0)
case("sort_axis_none", "sort", A([[3, 1], [2, 5]], "int32"), axis=None)
case("argsort_axis_none", "argsort", A([[3, 1], [2, 5]], "int32"), axis=None)
case("sort_bool", "sort", A([True, False, True, False], "bool"))
case("sort_u8", "sort", A([255, 0, 128, 1], "uint8"))
case("sort_i32_extremes", "sort", A([INT_MAX, INT_MIN, 0, -1], "int32"))
case("sort_f16", "sort", A([1.5, NAN, -2.0, 0.1], "float16"))
case("lexsort_basic", "lexsort", [A([1, 5, 1, 4, 3], "int32"), A([9, 4, 0, 4, 0], "int32")])
SS = A([1.0, 2.0, 2.0, 2.0, 3.0, 5.0])
SV = A([0.0, 1.0, 2.0, 2.5, 5.0, 6.0, NAN, NINF])
case("searchsorted_left", "searchsorted", SS, SV)
case("searchsorted_right", "searchsorted", SS, SV, side="right")
case("searchsorted_scalar", "searchsorted", SS, S(2.0))
case("searchsorted_2d_v", "searchsorted", A([1, 3, 5], "int32"), A([[0, 3], [5, 6]], "int32"))
case("searchsorted_with_nan", "searchsorted", A([1.0, 2.0, NAN]), A([NAN, 1.5, INF]))
case("searchsorted_sorter", "searchsorted", A([3.0, 1.0, 2.0]), A([2.5]), sorter=A([1, 2, 0], "int32"))
UX = A([3.0, 1.0, 2.0, 3.0, NAN, 1.0, NAN, -0.0, 0.0])
case("unique_basic", "unique", A([3, 1, 2, 3, 1], "int32"))
case("unique_nan", "unique", UX)
case("unique_nan_not_equal", "unique", UX, equal_nan=False)
case("unique_counts", "unique", A([3, 1, 2, 3, 1], "int32"), return_counts=True)
case("unique_all", "unique", A([[3, 1], [2, 3], [1, 1]], "int32"), return_index=True, return_inverse=True, return_counts=True)
case("unique_bool", "unique", A([True, True], "bool"))
case("partition_kth", "partition", A([5, 1, 4, 2, 3], "int32"), 2, no_values=True)
case("nonzero_2d", "nonzero", A([[0, 3], [4, 0]], "int32"))
case("flatnonzero", "flatnonzero", A([[0, 3], [4, 0]], "int32"))
case("argwhere", "argwhere", A([[0.0, NAN], [-0.0, 1.0]]))
case("nonzero_size", "nonzero", A([0, 2, 3, 0], "int32"), size=3, fill_value=-1)

# Indexing: x[...]
XI = A(iota([2, 3, 4]), "int32")
XV = A(iota([6], 10), "int32")
XA = lambda *v: A(list(v), "int32")
IDX = {
    "int": [1],
    "neg_int": [-1],
    "int_oob_error": [5],
    "neg_int_oob_error": [-3],
    "two_ints": [1, 2],
    "three_ints": [1, -1, -2],
    "too_many_error": [0, 0, 0, 0],
    "ellipsis_0": ["...", 0],
    "ellipsis_mid": [0, "...", 1],
    "ellipsis_only": ["..."],
    "two_ellipsis_error": ["...", "..."],
    "none_first": [None],
    "none_int": [None, 0],
    "none_mid": [0, None, "1:", None],
    "slice_1": ["1:"],
    "slice_rev": ["::-1"],
    "slice_rev2_int": [":", "::-2", 1],
    "slices_mixed": [":", "1:3", "::2"],
    "slice_neg_bounds": [":", "-1:0:-1"],
    "slice_big": ["10:"],
    "slice_empty_rev": [":", "0:2:-1"],
    "slice_clamped": ["-100:100"],
    "slice_step0_error": ["::0"],
    "int_array": [XA(0, 1, 0)],
    "int_array_2d": [A([[0, 1], [1, 0]], "int32")],
    "int_array_neg": [":", XA(-1, -3)],
    "int_array_oob": [":", XA(5, -7, 2)],
    "two_arrays_bcast": [XA(0, 1), A([[2], [0]], "int32")],
    "adv_separated": [XA(0, 1), ":", XA(1, 3)],
    "adv_adjacent": [":", XA(0, 2), XA(1, 3)],
    "adv_int_adjacent": [1, XA(0, 2)],
    "adv_int_separated": [XA(0, 1), ":", 2],
    "adv_with_none": [None, XA(1, 0)],
    "adv_with_ellipsis": ["...", XA(3, 0)],
    "adv_empty": [A([], "int32", shape=[0])],
    "bool_mask_full": [A((np.arange(24).reshape(2, 3, 4) % 5 == 0).tolist(), "bool")],
    "bool_mask_axis0": [A([True, False], "bool")],
    "bool_mask_axis1": [":", A([False, True, True], "bool")],
    "bool_mask_2d_prefix": [A([[True, False, True], [False, False, True]], "bool")],
    "bool_mask_wrong_shape_error": [A([True, False, True], "bool")],
    "bool_scalar_true": [True],
    "bool_scalar_false": [False],
    "float_index_error": [A([1.0], "float32")],
    "mask_and_int_array": [A([True, False], "bool"), XA(0, 2)],
    "u8_index_array": [A([1, 0], "uint8")],
    "int_array_0d": [A(1, "int32"), "::2"],
}
for k, idx in IDX.items():
    case(f"getitem_{k}", "getitem", XI, index=idx)
case("getitem_1d_slice_neg_step", "getitem", XV, index=["4:1:-2"])
case("getitem_1d_bool_and_int", "getitem", XV, index=[A([True, False, True, True, False, False], "bool")])
case("getitem_0d_ellipsis", "getitem", A(5.0), index=["..."])
case("getitem_0d_none", "getitem", A(5.0), index=[None])
case("getitem_0d_int_error", "getitem", A(5.0), index=[0])
case("getitem_f16", "getitem", A([1.5, 2.5, 3.5], "float16"), index=[XA(2, 0)])

# Indexed updates: x.at[...]
XU = A([1.0, 2.0, 3.0, 4.0])
case("at_set_int", "at_set", XU, S(9.0), index=[1])
case("at_set_slice", "at_set", XU, S(0.0), index=["1:3"])
case("at_set_array_vals", "at_set", XU, A([7.0, 8.0]), index=["::2"])
case("at_set_oob_dropped", "at_set", XU, A([7.0, 8.0, 9.0]), index=[XA(5, -10, 1)])
case("at_set_neg_idx", "at_set", XU, S(-5.0), index=[XA(-1, -4)])
case("at_set_int_float_value", "at_set", A([1, 2, 3], "int32"), S(2.7), index=[0])
case("at_set_int_neg_float_value", "at_set", A([1, 2, 3], "int32"), S(-2.7), index=[0])
case("at_set_u8_float", "at_set", A([1, 2, 3], "uint8"), A([300.0, -1.0]), index=["1:"])
case("at_set_mask", "at_set", XU, S(0.0), index=[A([True, False, True, False], "bool")])
case("at_set_2d_ellipsis", "at_set", A(iota([2, 3], 0, 1.0)), A([5.0, 6.0]), index=["...", 0])
case("at_set_2d_bcast_row", "at_set", A(iota([2, 3], 0, 1.0)), A([7.0, 8.0, 9.0]), index=[XA(1, 0)])
case("at_set_shape_error", "at_set", XU, A([1.0, 2.0, 3.0]), index=["1:3"])
case("at_set_same_value_repeat", "at_set", XU, S(5.0), index=[XA(0, 0, 2)])
case("at_add_repeat", "at_add", XU, S(1.0), index=[XA(0, 0, 2, 0)])
case("at_add_repeat_vals", "at_add", XU, A([1.0, 10.0, 100.0]), index=[XA(3, 3, 1)])
case("at_add_oob", "at_add", XU, S(1.0), index=[XA(4, -5, 100)])
case("at_add_u8_wrap", "at_add", A([250, 1], "uint8"), S(10), index=[XA(0, 0)])
case("at_add_int_float", "at_add", A([1, 2], "int32"), S(0.6), index=[XA(0, 0, 1)])
case("at_add_2d_adv", "at_add", A(iota([3, 3], 0, 1.0)), S(100.0), index=[XA(0, 2), XA(1, 1)])
case("at_add_2d_slice_adv", "at_add", A(iota([3, 3], 0, 1.0)), A([[1.0], [2.0], [3.0]]), index=[":", XA(0, 0)])
case("at_mul_repeat", "at_mul", XU, S(3.0), index=[XA(1, 1, 1)])
case("at_mul_oob", "at_mul", XU, S(3.0), index=[XA(9)])
case("at_min_repeat", "at_min", XU, A([0.5, 5.0, -1.0]), index=[XA(0, 0, 3)])
case("at_max_repeat", "at_max", XU, A([0.5, 5.0, 7.0]), index=[XA(0, 0, 2)])
case("at_min_nan", "at_min", XU, S(NAN), index=[1])
case("at_max_int", "at_max", A([1, 5, 3], "int32"), S(4), index=[":"])
case("at_set_mode_clip", "at_set", XU, S(9.0), index=[XA(10)], mode="clip")
case("at_add_mode_clip", "at_add", XU, S(9.0), index=[XA(10, -10)], mode="clip")
case("at_get_fill", "at_get", XU, index=[XA(0, 5, -10)], mode="fill", fill_value=-1.0)
case("at_get_fill_default", "at_get", XU, index=[XA(0, 5)], mode="fill")
case("at_get_fill_int_default", "at_get", A([1, 2], "int32"), index=[XA(0, 5)], mode="fill")
case("at_get_clip", "at_get", XU, index=[XA(0, 5, -10)], mode="clip")
case("at_set_rev_slice", "at_set", XU, A([1.0, 2.0, 3.0, 4.0]), index=["::-1"])
case("at_add_rev_step2", "at_add", XU, A([10.0, 20.0]), index=["::-2"])
case("at_set_2d_mask_rows", "at_set", A(iota([3, 2], 0, 1.0)), A([-1.0, -2.0]), index=[A([True, False, True], "bool")])
case("at_set_bool", "at_set", A([True, False], "bool"), S(True), index=[1])
case("at_set_f16", "at_set", A([1.0, 2.0], "float16"), S(0.1), index=[0])

# take / take_along_axis.
TK = A([10.0, 20.0, 30.0, 40.0])
for mode in [None, "clip", "wrap", "fill"]:
    kw = {} if mode is None else {"mode": mode}
    case(f"take_{mode or 'default'}", "take", TK, XA(0, 5, -1, -5, 3), **kw)
    case(f"take_int_{mode or 'default'}", "take", A([1, 2, 3], "int32"), XA(0, 3, -4), **kw)
case("take_axis_neg", "take", A(iota([2, 3]), "int32"), XA(-1, 1), axis=-1)
case("take_axis1", "take", A(iota([2, 3]), "int32"), XA(2, 0), axis=1)
case("take_fill_value", "take", TK, XA(0, 7), mode="fill", fill_value=-1.0)
case("take_2d_indices", "take", TK, A([[0, 1], [2, 3]], "int32"))
case("take_raise_error", "take", TK, XA(0), mode="raise")
TA = A([[10.0, 30.0, 20.0], [60.0, 40.0, 50.0]])
case("take_along_axis_1", "take_along_axis", TA, A([[0, 2], [1, 1]], "int32"), 1)
case("take_along_axis_0", "take_along_axis", TA, A([[1, 0, 1]], "int32"), 0)
case("take_along_axis_none", "take_along_axis", TA, XA(5, 0), None)
case("take_along_axis_oob", "take_along_axis", TA, A([[3], [-4]], "int32"), 1)
case("take_along_axis_clip", "take_along_axis", TA, A([[3], [-4]], "int32"), 1, mode="clip")
case("take_along_axis_bcast", "take_along_axis", TA, A([[2, 0]], "int32"), 1)

# isclose / allclose / array_equal.
CA = A([1.0, NAN, INF, NINF, 1e-9, 1.0, 0.0, 100.0])
CB = A([1.0 + 1e-6, NAN, INF, INF, 0.0, 1.1, -0.0, 100.001])
case("isclose_default", "isclose", CA, CB)
case("isclose_equal_nan", "isclose", CA, CB, equal_nan=True)
case("isclose_tols", "isclose", CA, CB, rtol=0.2, atol=0.0)
case("isclose_int", "isclose", A([1, 2], "int32"), A([1, 3], "int32"))
case("isclose_bcast", "isclose", A([[1.0], [2.0]]), A([1.0, 2.0, 3.0]))
case("allclose_true", "allclose", A([1.0, 2.0]), A([1.0, 2.0000001]))
case("allclose_false", "allclose", CA, CB)
case("allclose_nan", "allclose", A([NAN]), A([NAN]), equal_nan=True)
case("array_equal_true", "array_equal", A([1, 2], "int32"), A([1.0, 2.0]))
case("array_equal_shape", "array_equal", A([1, 2], "int32"), A([[1, 2]], "int32"))
case("array_equal_nan", "array_equal", A([NAN, 1.0]), A([NAN, 1.0]))
case("array_equal_nan_eq", "array_equal", A([NAN, 1.0]), A([NAN, 1.0]), equal_nan=True)
case("array_equiv_bcast", "array_equiv", A([1, 2], "int32"), A([[1, 2], [1, 2]], "int32"))

# where / clip.
case("where_3arg", "where", A([[True, False, True]], "bool"), A([[1.0], [2.0]]), A([10.0, 20.0, 30.0]))
case("where_int_cond", "where", A([0, 1, 2], "int32"), S(1.5), A([7, 8, 9], "int32"))
case("where_mixed_dtypes", "where", A([True, False], "bool"), A([1, 2], "uint8"), A([-1, -2], "int8"))
case("where_nan_cond", "where", A([NAN, 0.0, -0.0], "float32"), S(1), S(0))
case("where_1arg", "where", A([[0, 1], [1, 1]], "int32"))
case("clip_both", "clip", A([-2.0, 0.5, 3.0, NAN, INF]), S(0.0), S(1.0))
case("clip_min_only", "clip", A([-2.0, 0.5, 3.0]), S(0.0), None)
case("clip_max_only", "clip", A([-2.0, 0.5, 3.0]), None, S(1.0))
case("clip_min_gt_max", "clip", A([-2.0, 0.5, 3.0]), S(2.0), S(1.0))
case("clip_int_float_bounds", "clip", A([-2, 0, 3], "int32"), S(0.5), S(2.5))
case("clip_array_bounds", "clip", A([[1, 5], [9, 0]], "int32"), A([2, 3], "int32"), A([[4], [6]], "int32"))
case("clip_u8", "clip", A([0, 100, 255], "uint8"), S(10), S(200))

# repr / str of assorted arrays.
REPRS = {
    "f32_simple": A([1.0, 2.5, -3.0]),
    "f32_small_big": A([0.1, 1e-5, 1e5]),
    "f32_tiny": A([1e-10, 1.0]),
    "f32_huge": A([1e20, 1.0]),
    "f32_special": A([NAN, INF, NINF, 0.0, -0.0]),
    "f32_thirds": A([1 / 3, 2 / 3, 10 / 3]),
    "f32_ints": A([1.0, 2.0, 100.0]),
    "f32_negzero_only": A([-0.0, 0.0]),
    "f32_2d": A([[1.0, -2.5], [3.25, 400.0]]),
    "f32_3d": A(iota([2, 2, 3], 0, 0.5)),
    "f32_long_row": A(iota([30], 0, 1.125)),
    "f32_2000": A(iota([2000], 0, 1.0)),
    "f32_2000_frac": A(iota([2000], 0, 0.001)),
    "f32_10x200": A(iota([10, 200], 0, 0.5)),
    "f32_0d": A(3.5),
    "f32_0d_nan": A(NAN),
    "f32_empty": A([], "float32", shape=[0]),
    "f32_empty_2x0": A([], "float32", shape=[2, 0]),
    "f32_1e16": A([1e16, 1e-16]),
    "f32_mixed_exp": A([123456.0, 0.001]),
    "f32_precise": A([3.1415927, 2.7182817, 1.4142135]),
    "f32_1e8": A([1e8, 1.0]),
    "f32_99999": A([99999.5, 0.5]),
    "f16": A([0.1, 1.5, 65504.0], "float16"),
    "f16_nan": A([NAN, 0.1], "float16"),
    "bf16": A([0.1, 1.5, 3.14159], "bfloat16"),
    "bf16_big": A([3e38, 1e-3], "bfloat16"),
    "i32": A([1, -20, 300], "int32"),
    "i32_2d": A(iota([3, 4]), "int32"),
    "i32_3d": A(iota([2, 2, 2], -3), "int32"),
    "i32_extremes": A([INT_MIN, INT_MAX], "int32"),
    "i32_1001": A(iota([1001]), "int32"),
    "i32_empty": A([], "int32", shape=[0]),
    "i32_0d": A(7, "int32"),
    "u8": A([0, 255, 7], "uint8"),
    "i8": A([-128, 5, 127], "int8"),
    "u32": A([4294967295, 0], "uint32"),
    "i16": A([-32768, 1], "int16"),
    "u16": A([65535, 1], "uint16"),
    "bool_1d": A([True, False, True], "bool"),
    "bool_2d": A([[True, False], [False, True]], "bool"),
    "bool_0d": A(True, "bool"),
    "bool_1001": A([i % 3 == 0 for i in range(1001)], "bool"),
}
REPRS.update({
    "f32_1e6_cutoff": A([1e6, 2e3]),
    "f32_999999": A([999999.0, 1000.0]),
    "f32_2e5": A([2e5, 1e3]),
    "f16_2048": A([2048.0, 1024.0], "float16"),
    "f16_999": A([999.0, 2.0], "float16"),
    "bf16_100": A([100.0, 2.0], "bfloat16"),
    "bf16_99": A([99.0, 2.0], "bfloat16"),
    "f32_0d_1e16": A(1e16),
    "f32_0d_big": A(123456789.0),
    "f32_0d_1e15": A(1.5e15),
    "f32_0d_small": A(1e-5),
    "f32_0d_1e4": A(1e-4),
    "f16_0d": A(0.1, "float16"),
    "bf16_0d": A(3.0, "bfloat16"),
    "f32_subnormal": A([1e-40, 1.0]),
    "f32_suppress_tiny": A([1e-9, 1e-12]),
    "f32_neg_mix": A([-1e-5, 1e5]),
    "f32_1000_ratio": A([1000.0, 1.0]),
    "f32_1001_ratio": A([1001.0, 1.0]),
})
for k, a in REPRS.items():
    case(f"repr_{k}", "asarray", a)
case("repr_weak_float", "asarray", S(2.5))
case("repr_weak_int", "asarray", S(-3))
case("repr_weak_sum", "add", S(1.5), S(2))
case("repr_weak_nan", "multiply", S(NAN), S(1.0))


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------

SPECIALS = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}


def dec_data(v):
    if isinstance(v, str):
        return SPECIALS[v]
    if isinstance(v, list):
        return [dec_data(e) for e in v]
    return v


def has_dict(v):
    if isinstance(v, dict):
        return True
    if isinstance(v, list):
        return any(has_dict(e) for e in v)
    return False


def to_tuple(v):
    return tuple(to_tuple(e) for e in v) if isinstance(v, list) else v


def dec(a, key=None):
    """Decodes an ARG (or plain JSON value) into a Python value for jnp."""
    if isinstance(a, dict):
        if "array" in a:
            dt = DTYPES[a["dtype"]]
            x = jnp.array(dec_data(a["array"]), dtype=dt)
            if "shape" in a:
                x = x.reshape(tuple(a["shape"]))
            return x
        if "scalar" in a:
            v = a["scalar"]
            return SPECIALS[v] if isinstance(v, str) else v
        raise ValueError(f"bad arg {a}")
    if isinstance(a, list):
        return [dec(e) for e in a] if has_dict(a) else to_tuple(a)
    if key == "dtype" and isinstance(a, str):
        return DTYPES[a]
    return a


def dec_index_item(it):
    if it is None:
        return None
    if isinstance(it, bool) or isinstance(it, int):
        return it
    if isinstance(it, str):
        if it == "...":
            return Ellipsis
        parts = it.split(":")
        assert 2 <= len(parts) <= 3, it
        vals = [int(p) if p.strip() else None for p in parts]
        return slice(*vals)
    return dec(it)


def annotate_scalars(a):
    """Adds "type" to scalar ARGs in the output, since JSON cannot tell 3 from 3.0."""
    if isinstance(a, dict) and "scalar" in a:
        v = a["scalar"]
        t = "bool" if isinstance(v, bool) else "int" if isinstance(v, int) else "float"
        return {**a, "type": t}
    if isinstance(a, dict):
        return {k: annotate_scalars(v) for k, v in a.items()}
    if isinstance(a, list):
        return [annotate_scalars(e) for e in a]
    return a


def enc_values(x):
    """np array -> nested lists with NaN/inf as strings."""
    def enc_f(v):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v

    def walk(v):
        if isinstance(v, list):
            return [walk(e) for e in v]
        if isinstance(v, float):
            return enc_f(v)
        return v

    if x.dtype.kind == "f" or str(x.dtype) == "bfloat16":
        return walk(x.astype(np.float64).tolist())
    if x.dtype.kind == "b":
        return x.tolist()
    return x.astype(np.int64).tolist()


def weak_type_of(x):
    if DRY:
        return False
    w = getattr(x, "weak_type", None)
    if w is None:
        w = x.aval.weak_type
    return bool(w)


def record(x):
    if isinstance(x, (tuple, list)):
        return {"outputs": [record(e) for e in x]}
    if not DRY and not isinstance(x, jax.Array):
        x = jnp.asarray(x)
    if DRY:
        x = np.asarray(x)
    npx = np.asarray(x)
    return {
        "shape": list(x.shape),
        "dtype": str(x.dtype),
        "weak_type": weak_type_of(x),
        "values": enc_values(npx),
        "repr": repr(x),
        "str": str(x),
    }


def resolve(fn):
    if fn == "logsumexp":
        return np.logaddexp.reduce if DRY else jax.nn.logsumexp
    if fn == "astype" and DRY:
        return lambda x, d: x.astype(d)
    f = getattr(jnp, fn, None)
    if f is None:
        raise AttributeError(f"module 'jax.numpy' has no attribute '{fn}'")
    return f


def run_case(c):
    # Decode first: a failure here is a mistake in this script, not JAX's answer.
    try:
        args = [dec(a) for a in c["args"]]
        kwargs = {k: dec(v, k) for k, v in c["kwargs"].items()}
        index = tuple(dec_index_item(i) for i in c.get("index", []))
    except Exception as e:  # noqa: BLE001
        return {"harness_error": f"{type(e).__name__}: {e}"}
    fn = c["fn"]
    try:
        if fn == "getitem":
            out = args[0][index]
        elif fn.startswith("at_"):
            ref = args[0].at[index]
            op = {"at_set": "set", "at_add": "add", "at_mul": "multiply", "at_min": "min", "at_max": "max", "at_get": "get"}[fn]
            out = getattr(ref, op)(*args[1:], **kwargs)
        else:
            if fn == "astype":
                args[1] = DTYPES[args[1]]
            out = resolve(fn)(*args, **kwargs)
        if not DRY:
            out = jax.block_until_ready(out)
        return record(out)
    except Exception as e:  # noqa: BLE001
        return {"error": {"type": type(e).__name__, "message": str(e)[:600]}}


def run_chunk(arg):
    k, n = arg
    return [(c["id"], run_case(c)) for i, c in enumerate(CASES) if i % n == k]


def main():
    if not DRY:
        assert jnp.array(1).dtype == jnp.int32 and jnp.array(1.0).dtype == jnp.float32, "run with x64 off"
    header = {
        "generator": "test/reference/gen_jax_reference.py",
        "jax_version": None if DRY else jax.__version__,
        "jaxlib_version": None if DRY else __import__("jaxlib").__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "backend": None if DRY else jax.default_backend(),
        "x64": False,
        "dry_run": DRY,
    }
    try:
        header["ml_dtypes_version"] = __import__("ml_dtypes").__version__
    except Exception:  # noqa: BLE001
        pass
    jobs = int(next((a.split("=")[1] for a in sys.argv if a.startswith("--jobs=")), "1"))
    if jobs > 1:
        import multiprocessing as mp
        with mp.get_context("spawn").Pool(jobs) as pool:
            results = pool.map(run_chunk, [(k, jobs) for k in range(jobs)])
        by_id = {cid: r for chunk in results for cid, r in chunk}
    else:
        by_id = dict(run_chunk((0, 1)))
    out_cases = []
    n_err = n_harness = 0
    for c in CASES:
        res = by_id[c["id"]]
        if "harness_error" in res:
            n_harness += 1
            print(f"HARNESS {c['id']}: {res['harness_error']}")
        elif "error" in res:
            n_err += 1
            print(f"RAISED  {c['id']}: {res['error']['type']}: {res['error']['message'][:160]}")
        oc = annotate_scalars(c)
        oc["result"] = res
        out_cases.append(oc)
    doc = {"header": header, "cases": out_cases}
    with open(OUT_PATH, "w") as f:
        json.dump(doc, f, separators=(",", ":"), allow_nan=False)
    print(f"{len(CASES)} cases, {n_err} raised, {n_harness} harness errors -> {OUT_PATH}")
    print(json.dumps(header))


if __name__ == "__main__":
    main()
