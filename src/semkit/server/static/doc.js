// The document panel: full text with one chunk marked, the chunk list, metadata and
// "more like this".

import { api } from "./api.js";
import { el, marked, metadataList } from "./dom.js";

export class DocumentView {
  constructor(root, { onMore, onError }) {
    this.root = root;
    this.onMore = onMore;
    this.onError = onError;
    this.current = null; // {collection, id, text, chunks}
    this.returnFocus = null;
    root.querySelector("#doc-close").addEventListener("click", () => this.close());
    root.querySelector("#doc-more").addEventListener("click", () => this.more());
  }

  get isOpen() {
    return !this.root.hidden;
  }

  // open document `id`; `chunk` ({start, end, index}) is marked, else the first chunk
  async open(collection, id, chunk = null) {
    this.returnFocus = document.activeElement;
    let doc;
    let chunks;
    try {
      [[doc], chunks] = await Promise.all([api.get(collection, [id]), api.chunks(collection, id)]);
    } catch (err) {
      this.onError(err);
      return;
    }
    if (!doc) {
      this.onError(new Error(`no document ${id}`));
      return;
    }
    this.current = { collection, id, text: doc.text || "", chunks };
    this.root.querySelector("#doc-id").textContent = id;
    this.root.querySelector("#doc-meta").replaceWith(
      Object.assign(metadataList(doc.metadata), { id: "doc-meta" }),
    );
    const list = this.root.querySelector("#doc-chunks");
    list.replaceChildren(
      el("span", { class: "muted" }, `${chunks.length} chunk${chunks.length === 1 ? "" : "s"}:`),
      ...chunks.map((c) =>
        el(
          "button",
          {
            type: "button",
            class: "chunk",
            dataset: { index: c.index },
            title: `characters ${c.start}–${c.end}`,
            onclick: () => this.mark(c),
          },
          `#${c.index} · ${c.start}–${c.end}`,
        ),
      ),
    );
    this.root.hidden = false;
    document.body.dataset.doc = id;
    const shown = chunk ? chunks.find((c) => c.index === chunk.index) || chunk : null;
    this.mark(shown);
    this.root.querySelector("#doc-text").focus({ preventScroll: true });
  }

  mark(chunk) {
    const box = this.root.querySelector("#doc-text");
    const { parts, mark } = marked(this.current.text, chunk?.start, chunk?.end);
    box.replaceChildren(...parts);
    for (const b of this.root.querySelectorAll("button.chunk")) {
      b.classList.toggle("on", chunk !== null && Number(b.dataset.index) === chunk.index);
    }
    if (mark) mark.scrollIntoView({ block: "center" });
    else box.scrollTop = 0;
  }

  more() {
    if (this.current) this.onMore(this.current.id);
  }

  close() {
    this.root.hidden = true;
    delete document.body.dataset.doc;
    if (this.returnFocus && document.contains(this.returnFocus)) this.returnFocus.focus();
  }
}
