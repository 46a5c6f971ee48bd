// The one global a VS Code webview gets: `acquireVsCodeApi()` (callable once per page). Declared
// here rather than taken from @types/vscode-webview so the panels need no extra package; only
// bridge.ts calls it, and it checks the function exists first (unit tests run without it).

/** The webview side of VS Code's panel API. */
interface VsCodeWebviewApi {
  /** Sends a message to the extension (delivered to `webview.onDidReceiveMessage`). */
  postMessage(message: unknown): void;
  /** The state saved with `setState`, kept while the panel is hidden and across reloads. */
  getState(): unknown;
  /** Saves JSON-serialisable state for the panel (restored by the WebviewPanelSerializer). */
  setState(state: unknown): void;
}

/** Present in VS Code webviews only. */
declare function acquireVsCodeApi(): VsCodeWebviewApi;
