"""The rubric check: the course rubric as data, a report (report.json + HTML + PDF) scored
against it with evidence, integrity of its numbers, and grading many submissions.
"""
