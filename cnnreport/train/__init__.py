"""Training: the plan (content-hashed runs), the engine that trains seeded runs (alone or as
towers of one program), models, speed levers, progress, and the run store.
"""
