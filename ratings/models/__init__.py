"""The ratings app's models: the purchaser's journey (``voting``), the factor surveys (``surveys``) and what
the scoring job writes (``results``)."""

from ratings.models.results import (
    FactorReliability,
    FactorResult,
    HeartListEntry,
    ProductResult,
    ScoringRun,
    ScoringRunCategory,
)
from ratings.models.surveys import (
    FactorSurvey,
    SurveyCandidate,
    SurveyInvitation,
    SurveyRank,
    SurveyResponse,
)
from ratings.models.transparency import AuditExport, OpenDataRelease
from ratings.models.voting import (
    Campaign,
    CampaignFactor,
    EligibilityRun,
    EligibilityRunCategory,
    FactorScore,
    Invitation,
    RatingPolicy,
    ReviewHelpful,
    Vote,
    VoteRevision,
    VoteVerdictChange,
)

__all__ = [
    "AuditExport",
    "Campaign",
    "CampaignFactor",
    "EligibilityRun",
    "EligibilityRunCategory",
    "FactorReliability",
    "FactorResult",
    "FactorScore",
    "FactorSurvey",
    "HeartListEntry",
    "Invitation",
    "OpenDataRelease",
    "ProductResult",
    "RatingPolicy",
    "ReviewHelpful",
    "ScoringRun",
    "ScoringRunCategory",
    "SurveyCandidate",
    "SurveyInvitation",
    "SurveyRank",
    "SurveyResponse",
    "Vote",
    "VoteRevision",
    "VoteVerdictChange",
]
