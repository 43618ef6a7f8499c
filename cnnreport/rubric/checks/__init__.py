"""The automated checks a rubric item can be bound to, grouped by the criterion they serve;
catalogue.py imports them all.
"""
