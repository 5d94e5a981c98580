"""What the site knows of the client behind a request: the one place that reads its address.

Fingerprints (votes, manager votes) are built from these values; behind a reverse proxy every request
carries the proxy's ``REMOTE_ADDR``, so a trusted-proxy aware reading belongs here, once, for every use.
"""

from django.http import HttpRequest

#: Longer user agents are cut: they are hashed, and a huge header must not cost more than a normal one.
USER_AGENT_MAX = 512


def client_address(request: HttpRequest) -> str:
    """The client's IP address as this site trusts it ("" if unknown)."""
    return str(request.META.get("REMOTE_ADDR", ""))


def client_user_agent(request: HttpRequest) -> str:
    """The client's user agent, cut to ``USER_AGENT_MAX`` characters ("" if none)."""
    return str(request.META.get("HTTP_USER_AGENT", ""))[:USER_AGENT_MAX]
