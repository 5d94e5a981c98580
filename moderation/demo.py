"""Demo moderation: the community rules, a bilingual question bank, managers and a realistic queue.

Runs the real services: reports open and join cases, other managers' votes decide some of them
(hiding notes, excluding an advert), and a few known-answer audit cases sit in the queue. The demo
manager persona passed the rules test weeks ago, holds a term and finds cases waiting; the other
personas hold no term, so the candidate persona can take the test.
"""

import contextlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import User
from catalog.models import Note, OrderLine
from moderation import counterfeits, screening, services
from moderation.models import Case, Choice, Question, Rule, TestAttempt
from ratings.models import FactorScore, Vote
from ratings.services import fingerprint, rescore_soon

RULES = [
    (
        "no-advertising",
        "禁止广告引流",
        "No advertising",
        "不得发布联系方式、二维码或引导到站外交易。",
        "No contact details, QR codes or invitations to trade off the platform.",
    ),
    (
        "no-paid-reviews",
        "禁止有偿评价",
        "No paid reviews",
        "不得发布收钱、收礼或按模板撰写的评价。",
        "No reviews written for money, gifts, or from a template.",
    ),
    (
        "own-experience",
        "真实体验",
        "Your own experience",
        "只分享自己真实使用商品的体验。",
        "Share only your own, real experience of the product.",
    ),
    (
        "be-respectful",
        "友善交流",
        "Be respectful",
        "不得辱骂、骚扰或发布歧视性内容。",
        "No insults, harassment or hateful content.",
    ),
    (
        "no-false-claims",
        "禁止虚假功效",
        "No false claims",
        "不得夸大或编造医疗、功效宣传。",
        "No invented or exaggerated medical or efficacy claims.",
    ),
]

#: (rule code, question zh, question en, [(choice zh, choice en)...] with the correct choice first)
QUESTIONS = [
    (
        "no-advertising",
        "评论里写“加我微信领优惠券”是否违规？",
        "Is “add me on WeChat for a coupon” in a comment allowed?",
        [
            ("违规，属于站外引流", "No: it moves buyers off the platform"),
            ("不违规，只是分享优惠", "Yes: it only shares a discount"),
            ("只要不写价格就可以", "Yes, as long as no price is given"),
        ],
    ),
    (
        "no-advertising",
        "笔记中放店铺二维码应如何处理？",
        "A note shows a shop's QR code. What applies?",
        [
            ("违反广告引流规则", "It breaks the advertising rule"),
            ("可以，二维码不算广告", "Fine: a QR code is not advertising"),
            ("只有在标题里才违规", "Only wrong in the title"),
        ],
    ),
    (
        "no-advertising",
        "提到品牌官方旗舰店名称是否违规？",
        "Is naming the brand's official flagship store a breach?",
        [
            ("不违规，提及店铺名称不是引流", "No: naming a store is not moving trade off the platform"),
            ("违规，任何店名都是广告", "Yes: any store name is advertising"),
            ("要看点赞数", "It depends on the likes"),
        ],
    ),
    (
        "no-paid-reviews",
        "商家返现换五星好评，这样的评价？",
        "A seller refunds cash for five-star reviews. Those reviews are:",
        [
            ("有偿评价，违规", "Paid reviews: not allowed"),
            ("允许，买家确实买了", "Allowed: the buyers did buy"),
            ("只要写了缺点就可以", "Allowed if a drawback is mentioned"),
        ],
    ),
    (
        "no-paid-reviews",
        "多个账号发布几乎一字不差的好评，最可能是？",
        "Several accounts post nearly identical praise. Most likely:",
        [
            ("按模板代写的有偿评价", "Paid reviews from a template"),
            ("巧合", "A coincidence"),
            ("官方客服", "Official customer service"),
        ],
    ),
    (
        "no-paid-reviews",
        "收到品牌赠品后写体验，怎样才合规？",
        "You got a free sample from the brand. How may you review it?",
        [
            ("如实写体验并注明是赠品", "Honestly, saying it was a gift"),
            ("只能写好评", "Only positively"),
            ("不需要说明", "No need to mention it"),
        ],
    ),
    (
        "own-experience",
        "没用过商品，只转述朋友的感受，可以打分吗？",
        "May you rate a product you never used, from a friend's account?",
        [
            ("不可以，只评价自己的真实体验", "No: rate only your own real experience"),
            ("可以，朋友的体验也算", "Yes: a friend's experience counts"),
            ("可以，只要打中间分", "Yes, if you give a middle score"),
        ],
    ),
    (
        "own-experience",
        "评论复制了网上别人的长评，属于？",
        "A comment copies someone else's long review from the web. It is:",
        [
            ("不是自己的体验，违规", "Not your own experience: a breach"),
            ("引用，没问题", "A quote: fine"),
            ("只要注明出处即可", "Fine with a source"),
        ],
    ),
    (
        "own-experience",
        "用了一周后更新评价是否允许？",
        "May you amend your rating after a week of use?",
        [
            ("允许，体验变化可以修改", "Yes: an experience can change"),
            ("不允许，一人只能评一次且不能改", "No: one vote and never amended"),
            ("要先联系客服", "Only via customer service"),
        ],
    ),
    (
        "be-respectful",
        "评论骂其他用户“蠢”，应判定为？",
        "A comment calls another user “stupid”. Verdict:",
        [
            ("违反友善交流", "Breaks the respect rule"),
            ("言论自由，不违规", "Free speech: fine"),
            ("只有骂品牌才违规", "Only insulting a brand is a breach"),
        ],
    ),
    (
        "be-respectful",
        "给出很低的分数并说明理由，是否违规？",
        "A very low score with reasons given. Is that a breach?",
        [
            ("不违规，差评也是真实体验", "No: a poor rating is still honest experience"),
            ("违规，低分伤害商家", "Yes: low scores hurt sellers"),
            ("只有不写理由才可以", "Only without reasons"),
        ],
    ),
    (
        "be-respectful",
        "针对某地区人群的歧视性评论？",
        "A comment demeaning people from a region?",
        [
            ("违规", "A breach"),
            ("不违规，与商品无关", "Not a breach: unrelated to the product"),
            ("看点赞数决定", "Depends on the likes"),
        ],
    ),
    (
        "no-false-claims",
        "“用了三天治好了脱发”这种说法？",
        "“Cured my hair loss in three days”:",
        [
            ("夸大功效，违规", "An exaggerated claim: a breach"),
            ("个人体验，不违规", "Personal experience: fine"),
            ("只要带了照片就可以", "Fine with a photo"),
        ],
    ),
    (
        "no-false-claims",
        "“我用后头皮屑少了一些”是否违规？",
        "“I had a bit less dandruff after using it”:",
        [
            ("不违规，是真实的个人感受", "Fine: an honest personal observation"),
            ("违规，属于医疗宣传", "A breach: a medical claim"),
            ("必须附检测报告", "Needs a lab report"),
        ],
    ),
    (
        "no-false-claims",
        "声称零食“可以代替药物降血糖”？",
        "A snack “replaces medicine to lower blood sugar”:",
        [
            ("虚假医疗宣传，违规", "A false medical claim: a breach"),
            ("如果是无糖零食就可以", "Fine if it is sugar-free"),
            ("只是建议，不违规", "Just advice: fine"),
        ],
    ),
    (
        "no-paid-reviews",
        "生态管理员发现有人出售“好评套餐”，应？",
        "A manager sees someone selling “review packages”. They should:",
        [
            ("举报，这是有偿评价", "Report it: these are paid reviews"),
            ("忽略", "Ignore it"),
            ("购买后再判断", "Buy one to judge"),
        ],
    ),
    (
        "own-experience",
        "一人多号给同一商品打分属于？",
        "One person rating a product from several accounts is:",
        [
            ("违反一人一票，违规", "Against one person one vote: a breach"),
            ("允许，账号不同", "Allowed: different accounts"),
            ("只要分数不同就可以", "Allowed if the scores differ"),
        ],
    ),
    (
        "be-respectful",
        "评论里批评商品质量差，但语气礼貌？",
        "A polite comment criticising poor quality:",
        [
            ("不违规", "Not a breach"),
            ("违规，负面评价需删除", "A breach: negative reviews are removed"),
            ("需要商家同意", "Needs the seller's consent"),
        ],
    ),
    (
        "no-advertising",
        "评论里留下个人网店链接？",
        "A comment leaves a link to the writer's own online shop:",
        [
            ("违规，属于引流", "A breach: moving trade elsewhere"),
            ("不违规，分享购买渠道", "Fine: it shares where to buy"),
            ("链接放在最后就可以", "Fine at the end of the text"),
        ],
    ),
    (
        "no-false-claims",
        "面霜宣称“一周美白三个度”？",
        "A face cream “whitens three shades in a week”:",
        [
            ("夸大功效，违规", "An exaggerated claim: a breach"),
            ("个人感受，不违规", "A personal impression: fine"),
            ("只要是进口产品就可以", "Fine for imported products"),
        ],
    ),
]

AD_COMMENTS = ["加我V信 xhs8888 领内部优惠券，比这里便宜一半！", "私信我拿货，一手货源，量大从优"]
TEMPLATE_COMMENT = "宝子们冲！这款真的绝绝子，用了就回不去，闭眼入不踩雷！！！"
#: A sentence that makes a note break each rule it is reported for; the demo appends it to the note, so the
#: queue holds content that really breaks the rule cited (one reported note is left innocent: a mistaken report).
NOTE_BREACHES = {
    "no-advertising": "想要同款的姐妹加我V信 xhs8888，内部价拿货，比店里便宜。",
    "no-false-claims": "用了三天，老毛病全好了，比吃药还管用！",
    "be-respectful": "说不好用的都是不会用的蠢货，别来杠。",
    "own-experience": "其实我自己还没用过，都是听闺蜜说的。",
}
#: What the first reporter of breaking content writes, per rule: their words name what breaks the rule cited.
REPORT_WORDS = {
    "no-advertising": "留了微信号，让人去站外交易",
    "no-paid-reviews": "和好几条评价一字不差，像是刷的",
    "no-false-claims": "夸大功效，说比吃药还管用",
    "be-respectful": "骂说不好用的人是蠢货",
    "own-experience": "作者自己说没用过",
}
#: The rules the demo's notes are reported for, in order; the last report is mistaken and managers find it complies.
NOTE_REPORTS = [
    "no-false-claims",
    "be-respectful",
    "own-experience",
    "no-advertising",
    "no-false-claims",
    "own-experience",
]
#: How long ago the demo's managers passed the rules test: their terms are well under way.
PASSED_DAYS_AGO = 40


@dataclass(frozen=True)
class DemoModeration:
    rules: int
    questions: int
    managers: int
    open_cases: int
    decided_cases: int
    screened: int
    excluded_by_screening: int
    held_for_review: int
    open_counterfeit_claims: int = 0


#: The demo's fraud ring: this many accounts behind one phone push one product within an hour.
RING_SIZE = 9
RING_COMMENTS = ["回购无数次了，强烈推荐！！", "回购无数次了，强烈推荐！", "回购无数次，强烈推荐！！"]


@transaction.atomic
def demo_moderation_seed(*, seed: int, manager_email: str, persona_emails: Sequence[str] = ()) -> DemoModeration:
    """Rules, questions, managers and cases on top of the demo catalog and ratings.

    Every case's content agrees with the rule it cites and with how it is decided: what is found to
    break a rule contains a breach of that rule, what is found to comply contains none, and the fraud
    ring's votes are other votes than the reported ones. The other personas (``persona_emails``) keep
    the roles the README gives them: none of them is made a manager, reports or is reported.
    """
    rng = random.Random(seed)  # noqa: S311 - deterministic demo data, not secrets
    rules = {
        code: Rule.objects.create(code=code, name_zh=zh, name_en=en, description_zh=dzh, description_en=den, position=i)
        for i, (code, zh, en, dzh, den) in enumerate(RULES)
    }
    for code, text_zh, text_en, choices in QUESTIONS:
        question = Question.objects.create(rule=rules[code], text_zh=text_zh, text_en=text_en)
        positions = list(range(len(choices)))
        rng.shuffle(positions)  # the correct answer is not always first
        Choice.objects.bulk_create(
            Choice(question=question, text_zh=zh, text_en=en, is_correct=n == 0, position=positions[n])
            for n, (zh, en) in enumerate(choices)
        )

    persona = User.objects.get(email=manager_email)
    _pass_the_test(user=persona, rng=rng)
    crowd = list(
        User.objects.filter(is_banned=False, is_staff=False)
        .exclude(pk=persona.pk)
        .exclude(email__in=persona_emails)
        .order_by("pk")[:60]
    )
    managers = crowd[:8]
    for user in managers:
        _pass_the_test(user=user, rng=rng)
    reporters = crowd[8:]

    pool = (
        Vote.objects.exclude(user=persona)
        .exclude(user__email__in=persona_emails)
        .exclude(user__in=managers)
        .filter(verdict=Vote.Verdict.COUNTED)
    )
    # The ring pushes the campaign with the most such votes; the reported and template votes come from others.
    busiest = pool.values("campaign_id").annotate(n=Count("pk")).order_by("-n", "campaign_id")
    ring_campaign = busiest.values_list("campaign_id", flat=True)[0]
    ring = list(pool.filter(campaign_id=ring_campaign).order_by("pk")[:RING_SIZE])
    votes = list(pool.exclude(campaign_id=ring_campaign).order_by("pk")[:6])
    # Paid templates scattered over other products, one each: a product page with ten copies reads as a glitch.
    scattered: dict[int, Vote] = {}
    for vote in (
        pool.exclude(campaign_id__in={ring_campaign, *(vote.campaign_id for vote in votes)}).order_by("pk").iterator()
    ):
        scattered.setdefault(vote.campaign_id, vote)
        if len(scattered) == 6:
            break
    # Rating comments that break rules: advertising and a paid template.
    cases = []
    for vote, text in zip(votes[:2], AD_COMMENTS, strict=True):
        Vote.objects.filter(pk=vote.pk).update(comment=text)
        vote.comment = text
        cases.append(_reported(rng=rng, vote=vote, rule=rules["no-advertising"], reporters=reporters, count=3))
    _paid_template(rng=rng, votes=votes[2:6])
    cases.append(_reported(rng=rng, vote=votes[2], rule=rules["no-paid-reviews"], reporters=reporters, count=2))
    # Notes reported for various rules, one or more times; all but the last break the rule they are reported for.
    notes = list(
        Note.objects.filter(visibility=Note.Visibility.VISIBLE)
        .exclude(author=persona)
        .exclude(author__email__in=persona_emails)
        .order_by("pk")[:12]
    )
    for n, (note, code) in enumerate(zip(notes, NOTE_REPORTS, strict=False)):
        mistaken = n == len(NOTE_REPORTS) - 1
        if not mistaken:
            _breach(note=note, code=code)
        count = rng.randint(1, 4)
        cases.append(
            _reported(rng=rng, note=note, rule=rules[code], reporters=reporters, count=count, words=not mistaken)
        )
    # Two cases the other managers decided already, one of each outcome, each as its content deserves.
    # Managers with a stake in a case (they rated the product, share a device...) are refused: the others vote.
    for case, choice in ((cases[0], "violates"), (cases[-1], "complies")):
        for judge in managers:
            if Case.objects.filter(pk=case.pk, status=Case.Status.OPEN).exists():
                with contextlib.suppress(services.ModerationError):
                    services.vote_cast(manager=judge, case_id=case.pk, choice=choice)
    # Known-answer audit cases, unannounced in the queue: the one that violates carries an advert.
    for note, answer in zip(
        notes[6:9], [Case.Outcome.COMPLIES, Case.Outcome.VIOLATES, Case.Outcome.COMPLIES], strict=True
    ):
        if answer == Case.Outcome.VIOLATES:
            _breach(note=note, code="no-advertising")
        services.audit_create(note=note, rule=rules["no-advertising"], answer=answer, rng=rng)
    # Some of the queue is a day or two old.
    for case in Case.objects.filter(status=Case.Status.OPEN):
        Case.objects.filter(pk=case.pk).update(created_at=timezone.now() - timedelta(hours=rng.randint(1, 60)))
    _fraud_ring(rng=rng, ring=ring)
    _paid_template(rng=rng, votes=list(scattered.values()), quick=True)
    claims = _counterfeit_claim(excluded=[persona.pk, *(user.pk for user in managers)], persona_emails=persona_emails)
    screening.screener_train()
    screened = screening.votes_screen()
    return DemoModeration(
        rules=len(rules),
        questions=len(QUESTIONS),
        managers=len(managers) + 1,
        open_cases=Case.objects.filter(status=Case.Status.OPEN).count(),
        decided_cases=Case.objects.filter(status=Case.Status.DECIDED).count(),
        screened=screened.screened,
        excluded_by_screening=screened.excluded,
        held_for_review=screened.review,
        open_counterfeit_claims=claims,
    )


#: The seeds' story of a fake cream: what the demo's buyers say about the one open counterfeit claim.
COUNTERFEIT_WORDS = [
    "盒子上的批号在品牌官网查不到，膏体颜色比以前买的深，还有一股胶水味。",
    "The seal was already broken and the texture is grainy, not like the jar I bought at the counter.",
]


def _counterfeit_claim(*, excluded: Sequence[int], persona_emails: Sequence[str]) -> int:
    """One open counterfeit claim for the managers' page: two buyers of a listed product report the store
    they bought it from (never a persona, never a manager: they keep their README roles)."""
    lines = (
        OrderLine.objects.filter(status=OrderLine.Status.PAID, product__heart_rank__isnull=False)
        .exclude(buyer_id__in=excluded)
        .exclude(buyer__is_banned=True)
        .exclude(buyer__email__in=persona_emails)
        .select_related("product", "buyer")
        .order_by("product__category_id", "product__heart_rank", "pk")
    )
    first = lines.first()
    if first is None:
        return 0
    buyers = lines.filter(product=first.product, store=first.store).order_by("pk")
    reporters = list({line.buyer_id: line.buyer for line in buyers}.values())[: len(COUNTERFEIT_WORDS)]
    for reporter, words in zip(reporters, COUNTERFEIT_WORDS, strict=False):
        counterfeits.report_submit(reporter=reporter, product=first.product, store_id=first.store_id, description=words)
    return 1


def _pass_the_test(*, user: User, rng: random.Random) -> None:
    """A manager as the README tells it: they passed the rules test (a few answers wrong) some weeks ago,
    which started their term."""
    rules = services.policy_get()
    passed_at = timezone.now() - timedelta(days=PASSED_DAYS_AGO, hours=rng.randint(0, 240))
    drawn = rng.sample(
        list(Question.objects.filter(active=True).values_list("pk", flat=True)), rules.questions_per_attempt
    )
    missed = set(rng.sample(drawn, rng.randint(0, rules.questions_per_attempt - rules.pass_mark)))
    answers: dict[str, int] = {}
    for question_id, choice_id, is_correct in (
        Choice.objects.filter(question_id__in=drawn)
        .order_by("question_id", "position")
        .values_list("question_id", "pk", "is_correct")
    ):
        if is_correct != (question_id in missed):  # the right choice, or for a missed question a wrong one
            answers.setdefault(str(question_id), choice_id)
    attempt = TestAttempt.objects.create(
        user=user,
        question_ids=drawn,
        answers=answers,
        started_at=passed_at - timedelta(minutes=rng.randint(6, 15)),
        submitted_at=passed_at,
        correct=len(drawn) - len(missed),
        passed=True,
    )
    services.manager_grant(user=user, attempt=attempt, now=passed_at)


def _breach(*, note: Note, code: str) -> None:
    """Make the note break the rule: its breaching sentence joins the text, before the hashtags."""
    body = note.body.rstrip()
    head, separator, hashtags = body.rpartition("\n\n#")
    if not separator:
        head, hashtags = body, ""
    note.body = f"{head}{NOTE_BREACHES[code]}{separator}{hashtags}"
    Note.objects.filter(pk=note.pk).update(body=note.body)


def _paid_template(*, rng: random.Random, votes: Sequence[Vote], quick: bool = False) -> None:
    """Votes turned into paid reviews: the template's words and, as a paid review gives, five on every factor."""
    for vote in votes:
        fields: dict[str, object] = {"comment": TEMPLATE_COMMENT}
        if quick:
            fields["seconds_to_fill"] = rng.randint(6, 15)
        Vote.objects.filter(pk=vote.pk).update(**fields)
        vote.comment = TEMPLATE_COMMENT
    _all_fives(votes)


def _fraud_ring(*, rng: random.Random, ring: Sequence[Vote]) -> None:
    """Nine votes on one product from one phone on one network within an hour: quick, all fives, and
    nearly the same comment."""
    # Five minutes apart, the last at the latest of the nine: never after now (a vote cannot come from the future).
    start = max(vote.created_at for vote in ring) - timedelta(minutes=5 * (RING_SIZE - 1))
    device, network = fingerprint("Mozilla/5.0 (iPhone; ring-phone)"), fingerprint("203.0.113.7")
    for n, vote in enumerate(ring):
        Vote.objects.filter(pk=vote.pk).update(
            ip_hash=network,
            user_agent_hash=device,
            seconds_to_fill=rng.randint(4, 9),
            created_at=start + timedelta(minutes=5 * n),
            submitted_at=start + timedelta(minutes=5 * n),
            comment=RING_COMMENTS[n % len(RING_COMMENTS)],
        )
    _all_fives(ring)


def _all_fives(votes: Sequence[Vote]) -> None:
    """Five on every factor of these votes, and their products re-scored: the demo's scores were computed
    before its fraud was planted, and a product page must show what its votes say."""
    FactorScore.objects.filter(vote__in=votes).update(score=5)
    for campaign_id in sorted({vote.campaign_id for vote in votes}):
        rescore_soon(campaign_id=campaign_id)


def _reported(
    *,
    rng: random.Random,
    rule: Rule,
    reporters: Sequence[User],
    count: int,
    words: bool = True,
    note: Note | None = None,
    vote: Vote | None = None,
) -> Case:
    """``count`` reports of the content, never by its author (nobody may report their own content); the first
    reporter says what is wrong in the rule's terms, unless ``words`` is false (a mistaken report says nothing)."""
    author_id = note.author_id if note is not None else vote.user_id  # type: ignore[union-attr]
    case = None
    for n, reporter in enumerate(rng.sample([person for person in reporters if person.pk != author_id], count)):
        comment = REPORT_WORDS[rule.code] if words and n == 0 else ""
        case = services.report_submit(reporter=reporter, rule=rule, note=note, vote=vote, comment=comment)
    assert case is not None  # noqa: S101 - at least one reporter by construction
    return case
