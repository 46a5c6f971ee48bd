#!/usr/bin/env python3
"""Generates test/reference/jax-random.json: jax.random outputs computed by REAL JAX.

Usage (on a machine with JAX; CPU platform, x64 off; one process per threefry mode, because
the mode is part of JAX's trace context and jit caches):

    JAX_PLATFORMS=cpu python3 gen_jax_random.py partitionable > part.jsonl
    JAX_PLATFORMS=cpu python3 gen_jax_random.py classic > classic.jsonl
    python3 gen_jax_random.py --merge part.jsonl classic.jsonl > jax-random.json

A case is data, not code:

    {"id": ..., "fn": "uniform", "key": KEY, "args": [ARG, ...], "kwargs": {...}}

KEY is {"seed": s} (jax.random.key(s)), plus optionally "raw": true (jax.random.PRNGKey(s)),
"split": [num, i] (the i-th of split(key, num)) or "fold": d (fold_in(key, d)). ARG is a JSON
number, string or bool (passed as is), a list of ints (a shape: passed as a tuple), or
{"array": nested list, "dtype": name} (a jnp.array). `fn` names jax.random.<fn>; kwargs are
JAX's keyword names (the TypeScript side camelCases them).

Each output line records the case plus "mode" and "result": {"dtype", "shape", "values"} (key
results are recorded as their key_data, with "key": true), "repr" for key constructors, or
{"error": {"type", "message"}} when JAX raised. Floats are exact float32 values as Python
floats; NaN/inf are the strings "nan", "inf", "-inf".
"""

import json
import math
import sys

MERGE = "--merge" in sys.argv
argv = [a for a in sys.argv[1:] if not a.startswith("--")]

CASES = []
_IDS = set()


def case(id, fn, *args, key=None, **kwargs):
    assert id not in _IDS, f"duplicate id {id}"
    _IDS.add(id)
    CASES.append({"id": id, "fn": fn, "key": key if key is not None else {"seed": 0}, "args": list(args), "kwargs": kwargs})


def A(data, dtype="float32"):
    return {"array": data, "dtype": dtype}


K0, K42, K1701 = {"seed": 0}, {"seed": 42}, {"seed": 1701}
RAW0 = {"seed": 0, "raw": True}

# ---- keys ----
for s in [0, 42, -1, 2**31 + 99, -(2**31) - 100, 2**32 + 5]:
    case(f"key_data_{s}", "key_data", key={"seed": s})
case("repr_key_42", "repr", key=K42)
case("repr_prngkey_42", "repr", key={"seed": 42, "raw": True})
case("repr_split_key_0", "repr", key={"seed": 0, "split": [2, None]})
for n in [1, 2, 3, 4, 5]:
    case(f"split_{n}", "split", n)
case("split_shape_2x3", "split", [2, 3], key=K42)
case("split_raw", "split", key=RAW0)
case("split_of_split", "split", key={"seed": 7, "split": [3, 2]})
for d in [0, 1, 4, 7, 2**31 + 5]:
    case(f"fold_in_{d}", "fold_in", d, key=K42 if d == 7 else K0)

# ---- bits ----
for dt in ["uint8", "uint16", "uint32"]:
    for shape in [[], [1], [3], [5], [7], [2, 3], [4, 4]]:
        for k in [K0, K1701]:
            case(f"bits_{dt}_{'x'.join(map(str, shape)) or 'scalar'}_{k['seed']}", "bits", shape, dt, key=k)
case("bits_default_dtype", "bits", [4])
case("bits_raw_key", "bits", [3], key=RAW0)
case("bits_int32_error", "bits", [3], "int32")

# ---- uniform / normal ----
for shape in [[], [5], [2, 3], [7]]:
    case(f"uniform_{'x'.join(map(str, shape)) or 'scalar'}", "uniform", shape)
    case(f"normal_{'x'.join(map(str, shape)) or 'scalar'}", "normal", shape)
case("uniform_split1", "uniform", key={"seed": 0, "split": [2, 1]})
case("uniform_minmax", "uniform", [6], minval=-3.0, maxval=5.5)
case("uniform_minmax_arrays", "uniform", [2, 3], minval=A([[0.0], [10.0]]), maxval=A([1.0, 2.0, 3.0]))
case("uniform_min_gt_max", "uniform", [4], minval=1.0, maxval=0.0)
case("uniform_f16", "uniform", [6], "float16")
case("uniform_bf16", "uniform", [6], "bfloat16")
case("uniform_int_error", "uniform", [3], "int32")
case("normal_f16", "normal", [6], "float16")
case("normal_bf16", "normal", [6], "bfloat16")
case("normal_1000", "normal", [1000], key=K42)
case("uniform_1000", "uniform", [1000], key=K42)
case("normal_fold3", "normal", [4], key={"seed": 5, "fold": 3})

# ---- randint ----
case("randint_3x3_0_8", "randint", [3, 3], 0, 8)
case("randint_5_0_10", "randint", [5], 0, 10)
case("randint_neg", "randint", [6], -100, 100, key=K42)
case("randint_full_i32", "randint", [6], -(2**31), 2**31 - 1)
case("randint_empty_range", "randint", [4], 5, 5)
case("randint_reversed", "randint", [4], 9, 2)
case("randint_u8_0_256", "randint", [8], 0, 256, "uint8")
case("randint_i8", "randint", [8], -128, 128, "int8")
case("randint_i16", "randint", [8], -1000, 1000, "int16")
case("randint_u16", "randint", [8], 0, 65536, "uint16")
case("randint_u32", "randint", [8], 0, 2**31 - 1, "uint32")
case("randint_array_bounds", "randint", [2, 3], A([[0], [100]], "int32"), A([10, 20, 30], "int32"))
case("randint_float_error", "randint", [3], 0, 5, "float32")

# ---- bernoulli, gumbel, categorical ----
case("bernoulli_05_5", "bernoulli", 0.5, [5])
case("bernoulli_03_10", "bernoulli", 0.3, [10], key=K42)
case("bernoulli_p_array", "bernoulli", A([0.1, 0.5, 0.9, 0.0, 1.0]))
case("bernoulli_high", "bernoulli", 0.3, [6], mode="high")
case("gumbel_5", "gumbel", [5])
case("gumbel_high", "gumbel", [5], mode="high")
case("gumbel_f16", "gumbel", [5], "float16")
case("categorical_3", "categorical", A([math.log(0.1), math.log(0.2), math.log(0.7)]))
case("categorical_shape", "categorical", A([math.log(0.1), math.log(0.2), math.log(0.7)]), shape=[8], key=K42)
case("categorical_batch", "categorical", A([[0.0, 1.0, 2.0, 3.0], [3.0, 2.0, 1.0, 0.0]]), key=K42)
case("categorical_axis0", "categorical", A([[0.0, 1.0, 2.0, 3.0], [3.0, 2.0, 1.0, 0.0]]), axis=0, key=K42)
case("categorical_prefix", "categorical", A([[0.0, 1.0, 2.0, 3.0], [3.0, 2.0, 1.0, 0.0]]), shape=[3, 2], key=K42)
case("categorical_noreplace", "categorical", A([0.0, 1.0, 2.0, 3.0, 0.5]), shape=[3], replace=False, key=K42)

# ---- permutation, choice ----
for n in [0, 1, 2, 10, 100]:
    case(f"permutation_{n}", "permutation", n)
case("permutation_2000", "permutation", 2000, key=K42)
case("permutation_array", "permutation", A([10.0, 20.0, 30.0, 40.0, 50.0]))
case("permutation_2d", "permutation", A([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]], "int32"), key=K42)
case("permutation_2d_axis1", "permutation", A([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]], "int32"), axis=1, key=K42)
case("permutation_2d_independent", "permutation", A([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]], "int32"), independent=True, key=K42)
case("choice_int", "choice", 10, [6])
case("choice_noreplace", "choice", 10, [6], False)
case("choice_p", "choice", 4, [8], p=A([0.1, 0.2, 0.3, 0.4]), key=K42)
case("choice_p_unnormalized", "choice", 4, [8], p=A([1.0, 2.0, 3.0, 4.0]), key=K42)
case("choice_p_noreplace", "choice", 4, [3], False, p=A([0.1, 0.2, 0.3, 0.4]), key=K42)
case("choice_array_axis1", "choice", A([[1, 2, 3, 4], [5, 6, 7, 8]], "int32"), [3], axis=1, key=K42)
case("choice_array_noreplace", "choice", A([1.5, 2.5, 3.5, 4.5, 5.5]), [2, 2], False, key=K42)
case("choice_too_many", "choice", 3, [5], False)
case("choice_p_shape_error", "choice", 4, [2], p=A([0.5, 0.5]))
case("choice_empty", "choice", 5, [0])

# ---- continuous samplers ----
case("truncated_normal", "truncated_normal", -1.0, 2.0, [6])
case("truncated_normal_arrays", "truncated_normal", A([-1.0, 0.0, 1.0]), 3.0, key=K42)
case("exponential", "exponential", [6])
case("laplace", "laplace", [6])
case("logistic", "logistic", [6])
case("cauchy", "cauchy", [6])
case("pareto", "pareto", 3.0, [6])
case("rademacher", "rademacher", [8])
case("multivariate_normal", "multivariate_normal", A([1.0, -1.0, 0.0]),
     A([[2.0, 0.5, 0.1], [0.5, 1.0, 0.2], [0.1, 0.2, 0.5]]), [4], key=K42)
case("multivariate_normal_noshape", "multivariate_normal", A([0.0, 0.0]), A([[1.0, 0.9], [0.9, 1.0]]))
for a in [0.3, 1.0, 2.5, 10.0]:
    case(f"gamma_{a}", "gamma", a, [6], key=K42)
    case(f"loggamma_{a}", "loggamma", a, [6], key=K42)
case("gamma_array", "gamma", A([0.5, 1.0, 4.0, 0.1]))
case("beta", "beta", 2.0, 3.0, [6])
case("beta_small", "beta", 0.2, 0.5, [6], key=K42)
case("dirichlet", "dirichlet", A([1.0, 2.0, 3.0]), [2])
case("dirichlet_noshape", "dirichlet", A([0.5, 0.5, 5.0, 1.0]), key=K42)
case("chisquare", "chisquare", 3.0, [6])
case("t", "t", 5.0, [6])
for lam in [0.5, 3.0, 9.5, 10.0, 25.0, 1000.0]:
    case(f"poisson_{lam}", "poisson", lam, [8], key=K42)
case("poisson_array", "poisson", A([0.0, 1.0, 5.0, 50.0]))
case("poisson_int16", "poisson", 4.0, [5], dtype="int16")


# ---------------------------------------------------------------------------------------------


def enc(v):
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
    return v


def encode_values(x):
    import numpy as np
    a = np.asarray(x)
    if a.dtype.kind == "f" or a.dtype.name == "bfloat16":
        return _map(a.astype(np.float64).tolist())
    return a.tolist()


def _map(v):
    if isinstance(v, list):
        return [_map(e) for e in v]
    return enc(float(v))


def run(mode):
    import jax
    import jax.numpy as jnp
    import numpy as np

    jax.config.update("jax_threefry_partitionable", mode == "partitionable")

    def conv(a):
        if isinstance(a, dict) and "array" in a:
            return jnp.array(a["array"], dtype=a["dtype"])
        if isinstance(a, list):
            return tuple(a)
        return a

    def make_key(k):
        key = jax.random.PRNGKey(k["seed"]) if k.get("raw") else jax.random.key(k["seed"])
        if "split" in k:
            num, i = k["split"]
            key = jax.random.split(key, num)
            if i is not None:
                key = key[i]
        if "fold" in k:
            key = jax.random.fold_in(key, k["fold"])
        return key

    for c in CASES:
        out = dict(c, mode=mode)
        try:
            key = make_key(c["key"])
            if c["fn"] == "repr":
                out["result"] = {"repr": repr(key)}
            elif c["fn"] == "key_data":
                r = jax.random.key_data(key)
                out["result"] = {"dtype": str(r.dtype), "shape": list(r.shape), "values": np.asarray(r).tolist()}
            else:
                f = getattr(jax.random, c["fn"])
                r = f(key, *[conv(a) for a in c["args"]], **{k: conv(v) for k, v in c["kwargs"].items()})
                is_key = jnp.issubdtype(r.dtype, jax.dtypes.prng_key)
                if is_key:
                    r = jax.random.key_data(r)
                out["result"] = {"dtype": str(r.dtype), "shape": list(r.shape), "values": encode_values(r), "key": bool(is_key)}
        except Exception as e:  # recorded: the TypeScript side expects an error too
            out["result"] = {"error": {"type": type(e).__name__, "message": str(e)[:400]}}
        print(json.dumps(out), flush=True)


def merge(paths):
    import platform
    cases = []
    header = {}
    for p in paths:
        with open(p) as fh:
            for line in fh:
                line = line.strip()
                if line.startswith("#"):
                    header.update(json.loads(line[1:]))
                elif line:
                    cases.append(json.loads(line))
    header["generator"] = "test/reference/gen_jax_random.py"
    json.dump({"header": header, "cases": cases}, sys.stdout, indent=None, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    if MERGE:
        merge(argv)
    else:
        import jax
        import platform
        print("#" + json.dumps({"jax": jax.__version__, "jaxlib": __import__("jaxlib").__version__,
                                "python": platform.python_version(), "backend": jax.default_backend()}), flush=True)
        run(argv[0] if argv else "partitionable")
