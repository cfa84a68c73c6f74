"""Grading a topic for a class (``make grade``): see cli.py for the steps, pipeline.py for the run.

One concern per module: collect (LMS import), plan (what to grade), worker (one submission's
sandbox), pool (several at once), gradebook (the one writer), integrity (the static look at what a student wrote),
diagnostics (reasons), sanitize (nothing runs where the instructor looks), feedback, export, report.
"""
