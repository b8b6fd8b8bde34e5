// A few DOM helpers: elements from tag/attributes/children, and number cells carrying their
// exact value (`data-native`) beside the formatted text, so tests read both.

type Child = Node | string | null | undefined | false;

export function h(tag: string, attrs: Record<string, string | number | boolean | undefined> = {}, ...children: Child[]): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === "class") e.className = String(v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

/** A table from header labels and rows of cells. */
export function table(caption: string, headers: string[], rows: HTMLElement[], attrs: Record<string, string> = {}): HTMLElement {
  return h(
    "table",
    { class: "striped", ...attrs },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ...headers.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, ...rows),
  );
}

/** A `<td>` with a formatted amount and its native value. */
export function numCell(text: string, native: string | undefined, field?: string): HTMLElement {
  return h("td", { class: "num", "data-native": native, "data-field": field }, text);
}

export function clear(el: Element, ...children: Child[]): void {
  el.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
}
