"""The study file: its schema (pydantic, strict), loading with profiles, and the models a study
expands to (baseline, reference CNN, variants of one factor).
"""
