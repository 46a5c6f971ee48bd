// Entry of the IR panel's page (bundled to dist/webview/ir-panel.js and .css): every function
// the tracer saw, newest first, with its jaxpr exactly as makeJaxpr prints it (and the optimised
// one the compiler lowered, or forward and backward side by side under grad), foldable nested
// jaxprs, clicks that reveal the source line, and a graph view laid out by elkjs. The page HTML
// (src/panels/) provides #root.

import "./common/panel.css";
import "./ir/ir.css";
import { startIrPanel } from "./ir/main";

startIrPanel(document.getElementById("root") ?? document.body);
