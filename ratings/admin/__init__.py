"""Staff see and steer rating here: the purchaser's journey (``voting``), the factor
surveys (``surveys``) and the scoring job's output (``scoring``)."""

from ratings.admin import scoring, surveys, voting

__all__ = ["scoring", "surveys", "voting"]
