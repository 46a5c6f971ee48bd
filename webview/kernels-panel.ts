// Entry of the kernels panel's page (bundled to dist/webview/kernels-panel.js and .css): for each
// compiled program, its kernels in execution order with their generated source, fused equations,
// launch shape, bindings and measured time. The page HTML (src/panels/) provides #root.

import "./common/panel.css";
import "./kernels/kernels.css";
import { startKernelsPanel } from "./kernels/main";

startKernelsPanel(document.getElementById("root") ?? document.body);
