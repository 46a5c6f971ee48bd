// NDArray's NumPy-style methods (JAX's `Array` methods and operators): x.add(y) for x + y,
// x.sum(), x.reshape(...), x.T, ... Installed on the prototype here because the core never
// imports the API. Each method is the np function of the same meaning with `this` first.

import { ValueError, fmtShape } from "../core/errors";
import { NDArray } from "../core/ndarray";
import * as C from "./contractions";
import { ArrayLike } from "./convert";
import * as Cr from "./creation";
import * as R from "./reductions";
import * as S from "./shape-ops";
import * as So from "./sorting";
import * as U from "./ufuncs";
import * as X from "./index-update";

type Rest<F> = F extends (a: any, ...rest: infer P) => infer Ret ? (...args: P) => Ret : never;

declare module "../core/ndarray" {
  interface NDArray {
    /** x + y */ add(y: ArrayLike): NDArray;
    /** x - y */ sub(y: ArrayLike): NDArray;
    /** x * y */ mul(y: ArrayLike): NDArray;
    /** x / y (true division) */ div(y: ArrayLike): NDArray;
    /** x // y */ floorDiv(y: ArrayLike): NDArray;
    /** x % y (sign of the divisor) */ mod(y: ArrayLike): NDArray;
    /** x ** y */ pow(y: ArrayLike): NDArray;
    /** -x */ neg(): NDArray;
    /** abs(x) */ abs(): NDArray;
    /** x @ y */ matmul(y: ArrayLike): NDArray;
    /** x < y */ lt(y: ArrayLike): NDArray;
    /** x <= y */ le(y: ArrayLike): NDArray;
    /** x > y */ gt(y: ArrayLike): NDArray;
    /** x >= y */ ge(y: ArrayLike): NDArray;
    /** x == y (elementwise) */ eq(y: ArrayLike): NDArray;
    /** x != y (elementwise) */ ne(y: ArrayLike): NDArray;
    /** x & y (bitwise; logical for bool) */ and(y: ArrayLike): NDArray;
    /** x | y */ or(y: ArrayLike): NDArray;
    /** x ^ y */ xor(y: ArrayLike): NDArray;
    /** ~x */ not(): NDArray;
    /** The transpose (axes reversed). */ readonly T: NDArray;
    /** Transpose of the last two axes. */ readonly mT: NDArray;
    reshape(...shape: number[] | [readonly number[]]): NDArray;
    ravel(): NDArray;
    flatten(): NDArray;
    transpose(...axes: number[] | [readonly number[]] | []): NDArray;
    swapaxes(axis1: number, axis2: number): NDArray;
    squeeze: Rest<typeof S.squeeze>;
    repeat: Rest<typeof S.repeat>;
    diagonal: Rest<typeof S.diagonal>;
    trace: Rest<typeof S.trace>;
    sum: Rest<typeof R.sum>;
    prod: Rest<typeof R.prod>;
    mean: Rest<typeof R.mean>;
    var: Rest<typeof R.var>;
    std: Rest<typeof R.std>;
    max: Rest<typeof R.max>;
    min: Rest<typeof R.min>;
    argmax: Rest<typeof R.argmax>;
    argmin: Rest<typeof R.argmin>;
    all: Rest<typeof R.all>;
    any: Rest<typeof R.any>;
    cumsum: Rest<typeof R.cumsum>;
    cumprod: Rest<typeof R.cumprod>;
    ptp: Rest<typeof R.ptp>;
    clip(min?: ArrayLike | null, max?: ArrayLike | null): NDArray;
    round(decimals?: number): NDArray;
    dot(y: ArrayLike): NDArray;
    sort: Rest<typeof So.sort>;
    argsort: Rest<typeof So.argsort>;
    take: Rest<typeof X.take>;
    nonzero(): NDArray[];
    copy(): NDArray;
  }
}

const P = NDArray.prototype as unknown as Record<string, unknown>;
function method(name: string, f: (x: NDArray, ...args: any[]) => unknown): void {
  Object.defineProperty(P, name, {
    value: function (this: NDArray, ...args: unknown[]) {
      return f(this, ...args);
    },
    writable: true,
    configurable: true,
  });
}
function getter(name: string, f: (x: NDArray) => unknown): void {
  Object.defineProperty(P, name, { get(this: NDArray) { return f(this); }, configurable: true });
}

method("add", U.add);
method("sub", U.subtract);
method("mul", U.multiply);
method("div", U.divide);
method("floorDiv", U.floorDivide);
method("mod", U.remainder);
method("pow", U.power);
method("neg", U.negative);
method("abs", U.abs);
method("matmul", C.matmul);
method("lt", U.less);
method("le", U.lessEqual);
method("gt", U.greater);
method("ge", U.greaterEqual);
method("eq", U.equal);
method("ne", U.notEqual);
method("and", U.bitwiseAnd);
method("or", U.bitwiseOr);
method("xor", U.bitwiseXor);
method("not", U.bitwiseNot);
getter("T", (x) => S.transpose(x));
getter("mT", (x) => {
  if (x.ndim < 2) throw new ValueError(`mT: the matrix transpose needs an array of at least two dimensions, got shape ${fmtShape(x.shape)}`);
  return S.swapaxes(x, -1, -2);
});
// x.reshape(2, 3) and x.reshape([2, 3]) both work, as in NumPy.
method("reshape", (x, ...s: unknown[]) => S.reshape(x, (Array.isArray(s[0]) ? s[0] : s) as number[]));
method("ravel", S.ravel);
method("flatten", S.ravel);
method("transpose", (x, ...a: unknown[]) => S.transpose(x, a.length === 0 ? null : ((Array.isArray(a[0]) ? a[0] : a) as number[])));
method("swapaxes", S.swapaxes);
method("squeeze", S.squeeze);
method("repeat", S.repeat);
method("diagonal", S.diagonal);
method("trace", S.trace);
method("sum", R.sum);
method("prod", R.prod);
method("mean", R.mean);
method("var", R.var);
method("std", R.std);
method("max", R.max);
method("min", R.min);
method("argmax", R.argmax);
method("argmin", R.argmin);
method("all", R.all);
method("any", R.any);
method("cumsum", R.cumsum);
method("cumprod", R.cumprod);
method("ptp", R.ptp);
method("clip", U.clip);
method("round", U.round);
method("dot", C.dot);
method("sort", So.sort);
method("argsort", So.argsort);
method("take", X.take);
method("nonzero", X.nonzero);
method("copy", Cr.copy);
