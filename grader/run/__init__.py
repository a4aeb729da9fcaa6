"""Running notebooks: the only part of the grader that touches a kernel."""
