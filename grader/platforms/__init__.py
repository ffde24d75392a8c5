"""Getting the grader to where grading happens at scale, and the student's work to it.

- `gradescope`: builds the Gradescope autograder archive (`nox -s gradescope`);
  `gradescope_grade` is what that archive runs for each submission.
- `classroom`: writes the GitHub Classroom workflow from the checks' points
  (`nox -s classroom`), in the strict YAML of `simple_yaml`.
- `submit`: packs a student's exercises into one zip to upload (`nox -s submit`).
- `kit` and `points`: what the kit says about itself (its packages, version,
  and each step's points), read from the files that declare them.
"""
