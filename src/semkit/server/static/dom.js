// Small DOM helpers: elements are built with textContent only (never innerHTML), so no
// document text can inject markup.

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node[key] = value;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

// text[start:end] marked, with up to `context` characters either side (cut at spaces)
export function excerpt(text, start, end, context = 160) {
  let from = Math.max(0, start - context);
  let to = Math.min(text.length, end + context);
  if (from > 0) from = text.indexOf(" ", from) + 1 || from;
  if (to < text.length) to = text.lastIndexOf(" ", to) > end ? text.lastIndexOf(" ", to) : to;
  return [
    from > 0 ? "…" : "",
    text.slice(from, start),
    el("mark", {}, text.slice(start, end)),
    text.slice(end, to),
    to < text.length ? "…" : "",
  ];
}

// the whole text with text[start:end] marked (returns the mark too, to scroll to it)
export function marked(text, start, end) {
  if (start === null || start === undefined) return { parts: [text], mark: null };
  const mark = el("mark", {}, text.slice(start, end));
  return { parts: [text.slice(0, start), mark, text.slice(end)], mark };
}

export function metadataList(metadata) {
  const list = el("dl", { class: "meta" });
  for (const [key, value] of Object.entries(metadata || {})) {
    const shown = typeof value === "object" ? JSON.stringify(value) : String(value);
    list.append(el("div", {}, el("dt", {}, key), el("dd", { title: shown }, shown)));
  }
  return list;
}
