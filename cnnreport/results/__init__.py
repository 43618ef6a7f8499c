"""Results: per-model summaries over seeds, statistics and comparisons, the controlled-variable
verification, the lab's judgements and checklist, the inductive-bias probes, and results.csv.
"""
