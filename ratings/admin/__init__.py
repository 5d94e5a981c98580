"""Staff see and steer rating here: the purchaser's journey (``voting``), the factor
surveys (``surveys``), the scoring job's output (``scoring``) and what outsiders receive (``transparency``)."""

from ratings.admin import scoring, surveys, transparency, voting

__all__ = ["scoring", "surveys", "transparency", "voting"]
