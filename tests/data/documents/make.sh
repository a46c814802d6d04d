#!/usr/bin/env bash
# How the fixtures here were made (run only to remake them; tests never need these tools):
#   apt-get install libreoffice-writer-nogui qpdf
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
cat > "$work/report.html" <<'HTML'
<html><head><meta charset="utf-8"><title>Field notes on three subjects</title></head><body>
<h1>Baking bread</h1>
<p>Knead the dough for ten minutes, let it rise in a warm kitchen until it doubles, then bake the loaf in a hot oven until the crust is golden brown.</p>
<h1 style="page-break-before: always">Watching the night sky</h1>
<p>Through a small telescope the rings of Saturn and the four large moons of Jupiter are easy to see on a clear, moonless night far from city lights.</p>
<h1 style="page-break-before: always">A football final</h1>
<p>The striker scored twice in the second half and the goalkeeper saved a penalty, so the home team lifted the cup in front of a cheering stadium.</p>
</body></html>
HTML
cat > "$work/notes.html" <<'HTML'
<html><head><meta charset="utf-8"><title>Garden diary</title></head><body>
<h1>Spring planting</h1>
<p>Tomatoes and basil go in once the last frost has passed; water them every morning.</p>
<table border="1"><tr><th>plant</th><th>week</th></tr><tr><td>tomato</td><td>18</td></tr><tr><td>basil</td><td>19</td></tr></table>
<p>Slugs ate half of the lettuce seedlings overnight.</p>
</body></html>
HTML
soffice --headless --convert-to 'docx:MS Word 2007 XML' --outdir "$work" "$work/report.html" "$work/notes.html" >/dev/null
soffice --headless --convert-to pdf --outdir "$work" "$work/report.docx" >/dev/null
cp "$work/report.pdf" report.pdf
cp "$work/notes.docx" notes.docx
qpdf --encrypt open-sesame open-sesame 256 -- report.pdf secret.pdf
rm -rf "$work"
