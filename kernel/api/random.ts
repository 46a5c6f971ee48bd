// The `random` namespace: jax.random in TypeScript, bit-exact with JAX's threefry2x32 PRNG in
// both of its modes (partitionable by default; classic with
// `config.update("jax_threefry_partitionable", false)`). Keys are typed (`random.key(0)`, a
// PRNGKeyArray of dtype key<fry>) or raw uint32[2] arrays (`random.PRNGKey(0)`); every function
// takes both. The implementation is split by concern: keys, split/foldIn and bits
// (random-keys.ts), samplers built on uniform bits (random-samplers.ts), and the rejection
// samplers gamma/beta/dirichlet/poisson and their relatives (random-gamma.ts).

export {
  PRNGKeyArray, KeyDType, key, PRNGKey, keyData, wrapKeyData, keyImpl, keyDtype, split, foldIn, bits,
} from "./random-keys";
export type { KeyArg, KeyOptions, BitsOptions } from "./random-keys";
export {
  uniform, normal, randint, bernoulli, gumbel, categorical, permutation, choice, truncatedNormal, exponential,
  laplace, logistic, cauchy, pareto, rademacher, multivariateNormal,
} from "./random-samplers";
export type {
  ShapeArg, UniformOptions, ShapeDTypeOptions, GumbelOptions, BernoulliOptions, CategoricalOptions, PermutationOptions,
  ChoiceOptions, RandintOptions, TruncatedNormalOptions, ParetoOptions, MultivariateNormalOptions,
} from "./random-samplers";
export { gamma, loggamma, beta, dirichlet, chisquare, t, poisson } from "./random-gamma";
export type { GammaOptions, BetaOptions, DirichletOptions, DfOptions, PoissonOptions } from "./random-gamma";
