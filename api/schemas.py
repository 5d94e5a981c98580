"""What the public API answers, as pydantic schemas: they validate every response and make the OpenAPI document.

Names come in both languages (``name_zh``, ``name_en``) and in the reader's (``name``, from
Accept-Language or the language cookie, as on the pages). Scores are on the 1–5 scale; a figure
the page does not show (an unpublished score, an empty factor's mean) is ``null``.
"""

from datetime import datetime

from ninja import Schema
from pydantic import Field


class Error(Schema):
    detail: str


class Brand(Schema):
    slug: str
    name: str
    name_zh: str
    name_en: str


class CategoryRef(Schema):
    slug: str
    name: str
    name_zh: str
    name_en: str
    url: str = Field(description="The category's public page.")


class StoreRef(Schema):
    """The store that lists the product, shown beside every score."""

    slug: str
    name: str
    name_zh: str
    name_en: str
    kind: str = Field(description="flagship, authorized or cross_border.")
    kind_label: str = Field(description="The store type in the reader's language.")


class CounterfeitHold(Schema):
    """A confirmed counterfeit claim: the product is off the lists until staff clear it."""

    store: str = Field(description="The store the counterfeit came from, in the reader's language.")
    store_kind: str = Field(description="Its type in the reader's language.")


class ProductCard(Schema):
    """A product as a list or a category page shows it."""

    slug: str
    name: str
    name_zh: str
    name_en: str
    brand: Brand
    store: StoreRef
    price: str = Field(description="CNY, as a decimal string.")
    heart_rank: int | None = Field(description="Its place on its category's Little Red Heart list, if listed.")
    heart_rank_low: int | None = Field(
        description="The best place of the 90% interval from the nightly bootstrap over raters; null without one."
    )
    heart_rank_high: int | None = Field(description="The worst place of that interval; equal to low when certain.")
    rating_score: float | None = Field(description="The published comprehensive score (1–5); null until published.")
    ranking_score: float | None = Field(description="The score lists are ordered by (shrunk towards the prior).")
    rated_by: int = Field(description="Counted votes the latest result rests on.")
    url: str = Field(description="The product's public page.")
    api_url: str = Field(description="The product's rating in this API.")


class ListedCategory(Schema):
    category: CategoryRef
    products: list[ProductCard] = Field(description="In the order of the list, first place first.")


class HeartList(Schema):
    listed_total: int
    categories: list[ListedCategory]


class CategoryFactor(Schema):
    slug: str
    name: str
    name_zh: str
    name_en: str
    weight: float


class FactorsSurvey(Schema):
    """The factor survey a category's factors were adopted from: its buyers ranked the candidates."""

    id: int
    respondents: int = Field(description="Verified purchasers of the category who ranked the candidate factors.")
    adopted_at: datetime | None = Field(description="When staff adopted the factors from its ranking.")
    method: str = Field(description="How the answers were ranked: a Borda count.")


class CategoryRanking(Schema):
    """A category page: its rated products by ranking score, then the unrated ones, a page at a time."""

    category: CategoryRef
    parent: CategoryRef | None
    rating_ready: bool
    factors: list[CategoryFactor]
    factors_survey: FactorsSurvey | None = Field(
        description="The survey the factors were chosen with, and how many buyers answered it; null when staff "
        "chose them alone."
    )
    count: int = Field(description="Products on sale in the category and its sub-categories.")
    page: int
    pages: int
    products: list[ProductCard]


class FactorFigures(Schema):
    """One factor of a published result. Every counted vote weighs 1."""

    name: str
    name_zh: str
    name_en: str
    position: int
    weight: float
    votes: int
    mean: float | None
    median: float | None
    sd: float | None
    ci_low: float | None = Field(description="Lower end of the 95% interval of the mean.")
    ci_high: float | None = Field(description="Upper end of the 95% interval of the mean.")
    agreement: float | None = Field(description="rwg: 1 = raters agree fully, 0 = as if at random.")
    histogram: list[int] = Field(description="Counted scores of 1, 2, 3, 4 and 5.")


class Transparency(Schema):
    """Where every vote went: ``voted`` = counted + held + the three exclusions."""

    invited: int
    voted: int
    response_percent: int | None
    counted: int
    under_review: int
    excluded_screening: int
    excluded_moderation: int
    excluded_refund: int


class Run(Schema):
    id: int
    method_version: str
    data_cutoff: datetime
    fingerprint: str | None = Field(
        description=(
            "SHA-256 of the result's canonical input (counted votes, factors, policy, method version; "
            "docs/verify.md); null for a result scored before fingerprints were recorded."
        )
    )


class Rating(Schema):
    """The product's latest result. Unpublished: progress and transparency only, as on the page."""

    published: bool
    counted: int
    min_votes: int = Field(description="Counted votes needed before the score is published.")
    comprehensive: float | None
    ranking_score: float | None
    prior: float | None
    prior_strength: int | None
    verdict: str = Field(description="The page's one-line summary, in the reader's language.")
    updated_at: datetime
    run: Run
    factors: list[FactorFigures]
    transparency: Transparency


class ProductRating(Schema):
    product: ProductCard
    category: CategoryRef
    counterfeit_hold: CounterfeitHold | None = Field(
        description="Set while a confirmed counterfeit claim holds the product off the lists."
    )
    rating: Rating | None = Field(description="null until the product is first scored.")


class Policy(Schema):
    min_votes_to_publish: int
    prior_strength: int
    list_threshold: float
    list_size: int
    score_window_days: int
    popularity_days: int
    sales_days: int
    purchase_days: int
    use_days: int
    popularity_percent: int
    sales_percent: int
    min_units_sold: int
    min_engagement: int
    products_per_category: int
    campaign_days: int
    invitation_days: int
    max_open_invitations: int
    active_days: int
    min_account_days: int


class PublishOverride(Schema):
    category: str
    min_votes_to_publish: int


class FactorWeight(Schema):
    name: str
    percent: float


class WeightedCategory(Schema):
    name: str
    factors: list[FactorWeight]


class SurveyedCategory(Schema):
    category: CategoryRef
    factors_survey: FactorsSurvey


class ScreeningModel(Schema):
    version: str
    trained_at: datetime
    training_votes: int
    labelled_votes: int


class Methodology(Schema):
    """The live parameters the methodology page states."""

    method_version: str
    confidence_percent: int
    neutral_prior: float
    policy: Policy
    publish_overrides: list[PublishOverride]
    unequal_weights: list[WeightedCategory]
    surveyed_categories: list[SurveyedCategory] = Field(
        description="Categories whose factors were chosen with their buyers, as the methodology page lists them."
    )
    next_eligibility: datetime | None = Field(description="Null while staff have paused the job.")
    next_scoring: datetime | None = Field(description="Null while staff have paused the job.")
    screening_model: ScreeningModel | None
