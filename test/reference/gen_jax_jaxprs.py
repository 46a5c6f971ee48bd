"""Prints the jaxprs real JAX makes for a set of functions, for Primal's printer and tracer
tests (test/reference/jax-jaxprs.test.ts). Run with JAX_PLATFORMS=cpu; writes JSON to argv[1].
Each case: id, the Python source of the function, the argument specs, and str(make_jaxpr(f)(*args))."""
import json, sys
import jax, jax.numpy as jnp, numpy as np
from jax import lax

def f32(*shape): return jnp.zeros(shape, jnp.float32)
def i32(*shape): return jnp.zeros(shape, jnp.int32)

cases = []
def case(id, fn, *args, src=""):
    try:
        text = str(jax.make_jaxpr(fn)(*args))
    except Exception as e:
        text = "ERROR " + type(e).__name__ + ": " + str(e)
    cases.append({"id": id, "args": [{"shape": list(np.shape(a)), "dtype": str(jnp.asarray(a).dtype), "weak": bool(getattr(jnp.asarray(a), "weak_type", False)) if not isinstance(a, (int, float)) else True} for a in args], "src": src, "jaxpr": text})

case("sin_cos", lambda x: jnp.sin(jnp.cos(x)), 3.0, src="x => np.sin(np.cos(x))")
case("grad_sin_cos", jax.grad(lambda x: jnp.sin(jnp.cos(x))), 3.0, src="grad(x => np.sin(np.cos(x)))")
case("func1", lambda a, b: jnp.sum(a + jnp.sin(b) * 3.), f32(8), f32(8), src="(a, b) => np.sum(a.add(np.sin(b).mul(3)))")
case("int_mul_add", lambda x, y: 2 * x + y, 3, 4, src="(x, y) => lax.add(lax.mul(2, x), y)")
case("unused_intermediate", lambda x: (jnp.sin(x), x)[1], f32(3), src="x => (np.sin(x), x)")
case("two_outputs", lambda x: (jnp.sin(x), jnp.cos(x)), f32(3), src="x => [np.sin(x), np.cos(x)]")
case("jit_inner", lambda x: jax.jit(lambda y: jnp.sin(y) * 2.0)(x) + 1.0, f32(3), src="jit")
case("grad_tanh_sum", jax.grad(lambda x: jnp.sum(jnp.tanh(x) * x)), f32(3), src="grad")
case("vmap_dot", jax.vmap(lambda a, b: jnp.dot(a, b)), f32(4, 3), f32(4, 3), src="vmap")
case("grad_of_vmap", jax.grad(lambda x: jnp.sum(jax.vmap(jnp.sin)(x))), f32(5), src="grad vmap")
case("vmap_of_grad", jax.vmap(jax.grad(lambda x: jnp.sin(x) * x)), f32(5), src="vmap grad")
case("jit_of_grad", jax.jit(jax.grad(lambda x: x * x)), 2.0, src="jit grad")
case("grad_of_jit", jax.grad(jax.jit(lambda x: x * x)), 2.0, src="grad jit")
case("reduce_max", lambda x: jnp.max(x, axis=1), f32(2, 3))
case("mean", lambda x: jnp.mean(x), f32(4))
case("argmax", lambda x: jnp.argmax(x), f32(4))
case("matmul", lambda a, b: a @ b, f32(2, 3), f32(3, 4))
case("reshape_transpose", lambda x: x.reshape(3, 2).T, f32(2, 3))
case("getitem_slice", lambda x: x[1:, ::2], f32(4, 5))
case("getitem_int", lambda x: x[1], f32(4, 5))
case("getitem_array", lambda x, i: x[i], f32(4, 5), i32(3))
case("at_add", lambda x, i: x.at[i].add(1.0), f32(5), i32(2))
case("where", lambda c, x, y: jnp.where(c, x, y), jnp.zeros(3, bool), f32(3), f32(3))
case("astype", lambda x: x.astype(jnp.int32), f32(3))
case("cond", lambda p, x: lax.cond(p, lambda v: v + 1.0, lambda v: v - 1.0, x), True, 1.0)
case("while", lambda x: lax.while_loop(lambda c: c < 10.0, lambda c: c * 2.0, x), 1.0)
case("fori", lambda x: lax.fori_loop(0, 3, lambda i, c: c + i, x), 1.0)
case("scan", lambda xs: lax.scan(lambda c, x: (c + x, c * x), 0.0, xs), f32(4))
case("stop_gradient", lambda x: lax.stop_gradient(x) * x, 2.0)
case("random_normal", lambda k: jax.random.normal(k, (3,)), jax.random.key(0))
case("random_uniform_raw", lambda k: jax.random.uniform(k, (2,)), jax.random.PRNGKey(0))
case("custom_jvp_relu", jax.nn.relu, f32(3))
case("softmax", jax.nn.softmax, f32(4))
case("logsumexp", jax.scipy.special.logsumexp, f32(4))
case("hessian", jax.hessian(lambda x: jnp.sum(x ** 3)), f32(2))
case("concatenate", lambda a, b: jnp.concatenate([a, b]), f32(2), f32(3))
case("sort", jnp.sort, f32(4))
case("argsort", jnp.argsort, f32(4))
case("cumsum", jnp.cumsum, f32(4))
case("pow_int", lambda x: x ** 3, f32(2))
case("exp_weak", lambda x: jnp.exp(x) + 1, f32(2))
case("literal_bool", lambda x: x > 0, f32(2))
case("debug_print", lambda x: (jax.debug.print("x={x}", x=x), x * 2)[1], 1.0)

out = {"jax": jax.__version__, "numpy": np.__version__, "cases": cases}
json.dump(out, open(sys.argv[1], "w"), indent=1)
print(len(cases), "cases")
