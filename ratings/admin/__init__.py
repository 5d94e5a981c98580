"""Staff see and steer rating here: the purchaser's journey (``voting``) and the scoring job's output (``scoring``)."""

from ratings.admin import scoring, voting

__all__ = ["scoring", "voting"]
