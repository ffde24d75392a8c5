"""The kit's grader: runs a student's programs and explains every failure."""
