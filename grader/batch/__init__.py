"""Batch grading for instructors: many submissions graded, one report."""
