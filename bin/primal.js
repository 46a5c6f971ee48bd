#!/usr/bin/env node
// The `primal` command (package.json "bin"). Everything lives in the bundle that
// scripts/build.mjs writes from kernel/cli.ts; it runs itself when it sees that it was
// started from here (see isEntryPoint in kernel/cli.ts).
require("../dist/cli.js");
