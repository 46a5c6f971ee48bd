// The library's version, from package.json (bundled by esbuild at build time).
import pkg from "../package.json";

/** Primal's version string. */
export const version: string = pkg.version;
