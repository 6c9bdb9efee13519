"""Figures and the HTML/Markdown documents that present a run.

Layer 4 of 6. It may import `simlock.analysis` and the layers below; it runs nothing itself.
"""
