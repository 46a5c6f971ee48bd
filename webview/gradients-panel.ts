// Entry of the gradients panel's page (bundled to dist/webview/gradients-panel.js, loaded by the
// page src/panels/ builds): registers the toolkit's components, connects to the extension and
// hands every validated message to the panel. The panel's logic lives in webview/gradients/.

import "./common/panel.css";
import "./gradients/gradients.css";
import { connect } from "./common/bridge";
import { registerToolkit } from "./common/toolkit";
import { GradientsPanel } from "./gradients/panel";

registerToolkit();
const root = document.getElementById("root") ?? document.body.appendChild(document.createElement("div"));
let panel: GradientsPanel | null = null;
// connect() posts "ready" at once; the first message can only arrive after this script ends, by
// which time the panel exists. The queue covers a host that answers synchronously all the same.
const early: Parameters<GradientsPanel["onMessage"]>[0][] = [];
const bridge = connect("gradients", (m) => (panel ? panel.onMessage(m) : early.push(m)));
panel = new GradientsPanel(root, bridge);
for (const m of early.splice(0)) panel.onMessage(m);
