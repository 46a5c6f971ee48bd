// Entry of the gradients panel's page (bundled to dist/webview/gradients-panel.js, loaded by the
// page src/panels/ builds): starts the panel (common/start.ts: toolkit, bridge, view). The panel's logic lives in webview/gradients/.

import "./common/panel.css";
import "./gradients/gradients.css";
import { startPanel } from "./common/start";
import { GradientsPanel } from "./gradients/panel";

startPanel("gradients", "gradients panel", document.getElementById("root") ?? document.body.appendChild(document.createElement("div")), (root, bridge) => new GradientsPanel(root, bridge));
