// The three inspector panels as data: for each kind its webview view type (what the
// WebviewPanelSerializer and the "onWebviewPanel:" activation events name), its tab title,
// the kernel request that fetches its records and the message type that carries them, and
// the page's HTML: a strict Content-Security-Policy with a fresh nonce, the bundled script
// and stylesheet from dist/webview (the only local resource root), nothing remote.

import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import * as vscode from "vscode";
import { KernelState } from "../kernel-manager";
import { Methods, PanelKernelState, PanelKind } from "../../kernel/protocol";

/** What differs between the panels. */
export interface PanelSpec {
  kind: PanelKind;
  viewType: string;
  title: string;
  /** The inspect/*Records request that answers the panel's data. */
  method: string;
  /** The HostToPanel message type that carries that answer. */
  messageType: "irRecords" | "gradientRecords" | "kernelRecords";
}

export const PANEL_SPECS: Record<PanelKind, PanelSpec> = {
  ir: { kind: "ir", viewType: "primal.irPanel", title: "Primal IR", method: Methods.inspectIrRecords, messageType: "irRecords" },
  gradients: { kind: "gradients", viewType: "primal.gradientsPanel", title: "Primal Gradients", method: Methods.inspectGradientRecords, messageType: "gradientRecords" },
  kernels: { kind: "kernels", viewType: "primal.kernelsPanel", title: "Primal Kernels", method: Methods.inspectKernelRecords, messageType: "kernelRecords" },
};

export const PANEL_KINDS: readonly PanelKind[] = ["ir", "gradients", "kernels"];

/** Records per answer: the protocol's default, enough for a session and bounded for the page. */
export const RECORD_LIMIT = 50;

/** The kernel's state as the panels show it ("starting" reads as busy: data comes when it is up). */
export function panelKernelState(s: KernelState): PanelKernelState {
  return s === "starting" ? "busy" : s;
}

/** The folder the panels' bundles are in: the webviews' only local resource root. */
export function webviewRoot(extensionUri: vscode.Uri): vscode.Uri {
  return vscode.Uri.joinPath(extensionUri, "dist", "webview");
}

/** The webview options every panel gets, on creation and when VS Code restores one. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [webviewRoot(extensionUri)] };
}

/** A fresh random nonce (base64 letters and digits only: it goes into an attribute and the CSP). */
export function nonce(): string {
  return randomBytes(18).toString("base64").replace(/[^A-Za-z0-9]/g, "");
}

/**
 * The page of a panel. The CSP allows only the nonce'd script and stylesheet and files from
 * the resource root (`cspSource`); no 'unsafe-eval', no 'unsafe-inline', no remote origins.
 * The stylesheet link is left out when the bundle has no CSS (esbuild writes one only when
 * the entry imports CSS), so the page does not ask for a file that is not there.
 */
export function pageHtml(spec: PanelSpec, webview: vscode.Webview, extensionUri: vscode.Uri, n = nonce()): string {
  const root = webviewRoot(extensionUri);
  const js = vscode.Uri.joinPath(root, `${spec.kind}-panel.js`);
  const css = vscode.Uri.joinPath(root, `${spec.kind}-panel.css`);
  const src = webview.asWebviewUri(js).toString();
  const link = existsSync(css.fsPath) ? `\n<link rel="stylesheet" nonce="${n}" href="${escapeAttr(webview.asWebviewUri(css).toString())}">` : "";
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource} 'nonce-${n}'`,
    `script-src 'nonce-${n}'`,
    `img-src ${webview.cspSource} data:`,
    `font-src ${webview.cspSource}`,
  ].join("; ");
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(csp)};">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta property="csp-nonce" content="${escapeAttr(n)}">
<title>${spec.title}</title>${link}
</head>
<body data-panel="${spec.kind}"><div id="root"></div>
<script nonce="${n}" src="${escapeAttr(src)}"></script>
</body></html>`;
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
}
