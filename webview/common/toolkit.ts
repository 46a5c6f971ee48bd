// Registers the @vscode/webview-ui-toolkit web components the panels use (buttons, data grid,
// tabs, dropdowns, checkboxes, progress ring, divider, links). Not its badge and tag: their
// templates carry inline `style` attributes, which the panels' CSP (no 'unsafe-inline') blocks,
// so badges are `span.badge` styled by panel.css with the same theme variables. The toolkit styles
// itself from VS Code's theme variables, so its components follow the editor theme. Custom
// elements can be defined once per page, hence the guard. FAST (the toolkit's base) writes its
// design tokens through `document instanceof Document` checks; in a DOM where that is false
// (happy-dom under vitest) or custom elements are missing, nothing is registered: the tags stay
// plain elements with their text, and the panels still work.

import {
  provideVSCodeDesignSystem, vsCodeButton, vsCodeCheckbox, vsCodeDataGrid, vsCodeDataGridCell, vsCodeDataGridRow, vsCodeDivider,
  vsCodeDropdown, vsCodeLink, vsCodeOption, vsCodePanelTab, vsCodePanelView, vsCodePanels, vsCodeProgressRing,
} from "@vscode/webview-ui-toolkit";

let registered: boolean | null = null;

/** Registers the toolkit's components (idempotent). Returns whether they are registered. */
export function registerToolkit(): boolean {
  if (registered !== null) return registered;
  try {
    if (typeof customElements === "undefined" || !(document instanceof Document)) throw new Error("no DOM for web components");
    provideVSCodeDesignSystem().register(
      vsCodeButton(), vsCodeCheckbox(), vsCodeDataGrid(), vsCodeDataGridCell(), vsCodeDataGridRow(), vsCodeDivider(),
      vsCodeDropdown(), vsCodeLink(), vsCodeOption(), vsCodePanelTab(), vsCodePanelView(), vsCodePanels(), vsCodeProgressRing(),
    );
    registered = true;
  } catch {
    registered = false;
  }
  return registered;
}
