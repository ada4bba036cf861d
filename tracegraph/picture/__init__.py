"""The machinery of pictures: folding, layout, labels, key, Graphviz, SVG and the HTML viewer.

`export/` holds the formats and picks an exporter by name; the pictures it
offers (SVG, PNG, PDF, HTML) are drawn here. Nothing here imports `export/`.
"""
