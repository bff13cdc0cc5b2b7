"""The nbgrader course in grader/: generating labs/ from it and the instructor workflow."""
