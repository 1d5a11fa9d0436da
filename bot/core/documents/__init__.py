"""Documents made from published minutes: one neutral document (model.py) built once (build.py),
three renderings (render_docx.py, render_pdf.py, render_md.py; files.py picks one), and what a
member receives with their copy (delivery.py).

Nothing is imported here, so the light modules (model.py) can be used without the renderers.
"""
