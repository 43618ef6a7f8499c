"""Figures: one function per figure, PNG at a fixed dpi, one style (style.py) for all; each
returns {id, file, caption, alt} and is cached by its inputs (memo.figure).
"""
