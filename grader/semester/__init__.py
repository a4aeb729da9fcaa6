"""The instructor's semester: re-judging from stored facts, overrides that last, the late
policy, the similarity report and the review queue.  Everything here works on an output
folder (OUT) and never starts a kernel."""


class RejudgeError(ValueError):
    """An output folder cannot be re-judged; ``str(exc)`` says why."""
