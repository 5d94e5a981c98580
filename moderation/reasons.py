"""Screening's reason codes as sentences a person can read, in the reader's language.

The fraud package returns codes with parameters (``{"code": "shared_device", "params": {...}}``) and
English sentences for its command line (``moderation.fraud.rules.REASON_TEXT_EN``); the same sentences
are here, marked for translation, so the site shows them in Chinese too (a test keeps the two equal).
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _

REASON_TEXT = {
    "shared_device": _("%(accounts)d accounts on one device rated this product within %(hours)d hours"),
    "shared_network": _("%(accounts)d accounts on one network rated this product within %(hours)d hours"),
    "device_group": _("this account and %(others)d others used one device within %(days)d days, in any category"),
    "network_group": _("this account and %(others)d others used one network within %(days)d days, in any category"),
    "near_duplicate": _("comment is a near-copy of %(copies)d others"),
    "straight_line": _("every one of the %(factors)d factors got the same score (%(score)d)"),
    "fast_fill": _("the form was filled in %(seconds)d seconds for %(factors)d factors"),
    "new_account": _("the account was %(days)d days old when it voted"),
    "no_history": _("no purchases besides the one that allowed this vote"),
    "burst": _("%(votes)d votes on this product within %(hours)d hours, against a normal %(normal).1f a day"),
    "brand_burst": _("votes on this brand ran at %(ratio).0f times their normal rate around this vote"),
    "off_consensus": _("far from what other buyers say (%(sd).1f standard deviations)"),
    "ring": _("rated the same %(products)d products in the same %(days)d-day window as %(accounts)d other accounts"),
    "account_flagged": _("%(votes)d other votes of this account were flagged"),
    "anomaly": _("more unusual than %(percent).1f%% of votes (anomaly model)"),
    "model": _("resembles votes managers excluded (probability %(probability).2f)"),
}


def reason_text(reason: Mapping[str, Any]) -> str:
    code = str(reason.get("code", ""))
    template = REASON_TEXT.get(code)
    if template is None:
        return code
    try:
        return str(template) % dict(reason.get("params") or {})
    except (KeyError, TypeError, ValueError):
        return code


def reasons_text(reasons: Iterable[Mapping[str, Any]]) -> list[str]:
    return [reason_text(reason) for reason in reasons]
