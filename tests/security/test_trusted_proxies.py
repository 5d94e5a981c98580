"""Behind a reverse proxy the client is the one the proxy saw, never the one a sender claims to be.

``TRUSTED_PROXIES`` names our proxies; ``xhs.client_address.client_address`` reads X-Forwarded-For
from the right as far as they wrote it. The first part checks that reading; the last part starts a
real gunicorn behind a small reverse proxy written here (a threaded http.server that forwards every
request and appends the peer's address to X-Forwarded-For, as nginx's ``proxy_add_x_forwarded_for``
does) and shows that allauth's sign-in limit counts each visitor apart.
"""

import functools
import http.client
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from allauth.account.adapter import get_adapter
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from ratings.models import Vote
from ratings.services import fingerprint
from tests.factories import UserFactory
from tests.processes import rate_limits_forgotten, worker_database_url
from tests.ratings.factories import accepted_invitation
from tests.test_settings import PRODUCTION, manage
from xhs.client_address import client_address

PROXIES = ["10.0.0.0/24", "192.0.2.10"]


def seen(remote_addr: str, forwarded_for: str | None = None, *, trusted: list[str] = PROXIES) -> str:
    """The client address the app finds for a request from `remote_addr` carrying `forwarded_for`."""
    headers = {} if forwarded_for is None else {"HTTP_X_FORWARDED_FOR": forwarded_for}
    request = RequestFactory().get("/", REMOTE_ADDR=remote_addr, **headers)
    with override_settings(TRUSTED_PROXIES=trusted):
        return client_address(request)


# --- Reading the header ---------------------------------------------------------------------------------


def test_with_no_trusted_proxy_configured_a_forwarded_header_counts_for_nothing() -> None:
    assert seen("203.0.113.5", "198.51.100.1", trusted=[]) == "203.0.113.5"


def test_a_forwarded_header_from_a_peer_that_is_not_our_proxy_is_ignored() -> None:
    # a visitor connecting straight to the app claims to be someone else
    assert seen("203.0.113.5", "198.51.100.1") == "203.0.113.5"
    assert seen("203.0.113.5", "10.0.0.1") == "203.0.113.5", "claiming to be our proxy earns nothing either"


def test_through_our_proxy_the_client_is_the_address_the_proxy_saw() -> None:
    assert seen("10.0.0.7", "198.51.100.1") == "198.51.100.1"


def test_addresses_a_client_wrote_in_front_of_our_proxies_are_skipped() -> None:
    # the client sent "X-Forwarded-For: 1.1.1.1"; an outer proxy (192.0.2.10) and an inner one (10.0.0.3)
    # appended what they saw
    assert seen("10.0.0.3", "1.1.1.1, 198.51.100.1, 192.0.2.10") == "198.51.100.1"


def test_a_request_that_only_passed_our_proxies_is_the_outermost_proxy() -> None:
    assert seen("10.0.0.3", "192.0.2.10") == "192.0.2.10"
    assert seen("10.0.0.3") == "10.0.0.3"


@pytest.mark.parametrize(
    ("forwarded_for", "client"),
    [
        ("", "10.0.0.3"),
        ("not-an-address", "10.0.0.3"),
        ("198.51.100.1, unknown", "10.0.0.3"),
        ("<script>, 198.51.100.1", "198.51.100.1"),
        ("1.1.1.1,,198.51.100.1", "198.51.100.1"),
        ("198.51.100.1:51234", "198.51.100.1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("::ffff:198.51.100.1", "198.51.100.1"),
    ],
)
def test_a_malformed_hop_stops_the_walk_and_never_becomes_the_client(forwarded_for: str, client: str) -> None:
    assert seen("10.0.0.3", forwarded_for) == client


def test_a_connection_without_an_address_has_no_client_address() -> None:
    # gunicorn on a Unix socket
    assert seen("", "198.51.100.1") == ""


@pytest.mark.parametrize("value", ["10.0.0.0/33", "proxy.internal", "10.0.0.1;10.0.0.2"])
def test_a_malformed_trusted_proxies_setting_stops_the_start_naming_it(value: str) -> None:
    result = manage("check", env={**PRODUCTION, "TRUSTED_PROXIES": value})

    assert result.returncode != 0
    assert "ImproperlyConfigured: TRUSTED_PROXIES must list IP addresses" in result.stderr


# --- Every use of the client address ----------------------------------------------------------------------


@override_settings(TRUSTED_PROXIES=PROXIES)
def test_the_sign_in_limits_count_the_client_behind_the_proxy() -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR="198.51.100.1")

    assert get_adapter(request).get_client_ip(request) == "198.51.100.1"


@pytest.mark.django_db
@override_settings(TRUSTED_PROXIES=PROXIES)
def test_a_vote_through_the_proxy_carries_the_clients_network_fingerprint() -> None:
    from ratings.forms import form_token

    invitation = accepted_invitation()
    client = Client(REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.1")
    client.force_login(invitation.user)
    data = {"started": form_token(invitation_id=invitation.pk, amends_revision=None), "comment": ""}
    data |= {f"factor_{factor.pk}": "4" for factor in invitation.campaign.factors.all()}

    client.post(reverse("ratings:vote", kwargs={"pk": invitation.pk}), data)

    vote = Vote.objects.get()
    assert vote.ip_hash == fingerprint("198.51.100.1")
    assert vote.ip_hash != fingerprint("10.0.0.7"), "every vote would share the proxy's fingerprint"


@pytest.mark.django_db
@override_settings(TRUSTED_PROXIES=PROXIES)
def test_the_access_log_names_the_client_not_the_proxy(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="xhs.access"):
        Client(REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR="198.51.100.1").get("/healthz/")
        Client(REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="198.51.100.1").get("/no/such/%0Apage/")

    lines = [record.getMessage() for record in caplog.records if record.name == "xhs.access"]
    assert lines[0].startswith('198.51.100.1 "GET /healthz/" 200 ')
    assert lines[1].startswith('203.0.113.5 "GET /no/such/%0Apage/" 404 '), "a newline in a path forges no line"


@pytest.mark.django_db
@override_settings(TRUSTED_PROXIES=PROXIES, SECURE_SSL_REDIRECT=True)
@pytest.mark.parametrize(
    ("peer", "redirected"),
    [("203.0.113.5", True), ("10.0.0.7", False)],
    ids=["a client that says https is still sent to https", "our proxy's word is taken"],
)
def test_only_a_trusted_proxy_can_say_the_visitor_used_https(peer: str, redirected: bool) -> None:
    response = Client(REMOTE_ADDR=peer, HTTP_X_FORWARDED_PROTO="https").get("/", HTTP_HOST="testserver")

    assert (response.status_code == 301 and response["Location"].startswith("https://")) is redirected
    assert (response.status_code == 200) is not redirected


# --- Through a real reverse proxy in front of gunicorn --------------------------------------------------------

PASSWORD = "the-right-password-4711"
WRONG = "a-wrong-guess-0815"
#: allauth's default: ten failed sign-ins a minute per client address.
FAILURES_PER_ADDRESS = 10
#: Where visitors connect from: Linux answers on all of 127.0.0.0/8, so each visitor has its own address.
ATTACKER, NEIGHBOUR, DIRECT = "127.0.0.2", "127.0.0.3", "127.0.0.4"
HOST = "127.0.0.1"
TOO_MANY = "Too many failed login attempts"
#: The API's requests per client and window in the gunicorn started here (a fixed window of 60 s).
API_LIMIT = 5
API = "/api/v1/methodology/"
NOT_CORRECT = "password you specified are not correct"
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass
class Gunicorn:
    port: int
    log: Path


@pytest.fixture(scope="module")
def gunicorn(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    """gunicorn (two workers) on the test database and Redis, trusting only the proxy's address."""
    port = _free_port()
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "xhs.settings",
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "TRUSTED_PROXIES": "127.0.0.1",
        # Plain HTTP on loopback; no connection outlives a request, so none holds the test database open.
        "DEBUG": "1",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": HOST,
        "CONN_MAX_AGE": "0",
        "LOG_LEVEL": "INFO",
        "API_RATE_LIMIT_REQUESTS": str(API_LIMIT),
    }
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
            [sys.executable, "-m", "gunicorn", "xhs.wsgi:application", "--bind", f"{HOST}:{port}"]
            + ["--workers", "2", "--timeout", "30", "--graceful-timeout", "5", "--no-control-socket"],
            env=env,
            cwd=settings.BASE_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 40
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield Gunicorn(port=port, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection(HOST, port, timeout=2)
        conn.request("GET", "/healthz/", headers={"Host": HOST})
        return conn.getresponse().status == 200
    except OSError:
        return False


class _Forwarding(BaseHTTPRequestHandler):
    """Forward one request to the upstream, appending the peer's address to X-Forwarded-For."""

    upstream_port: int

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name: value for name, value in self.headers.items() if name.lower() not in HOP_BY_HOP}
        headers.pop("X-Forwarded-For", None)
        claimed = self.headers.get("X-Forwarded-For")
        peer = self.client_address[0]
        headers["X-Forwarded-For"] = f"{claimed}, {peer}" if claimed else peer
        headers["X-Forwarded-Proto"] = "http"
        upstream = http.client.HTTPConnection(HOST, self.upstream_port, timeout=30)
        try:
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            content = response.read()
            self.send_response(response.status)
            for name, value in response.getheaders():
                if name.lower() not in HOP_BY_HOP | {"content-length"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
        finally:
            upstream.close()

    do_GET = do_POST = _forward

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        pass


@pytest.fixture(scope="module")
def proxy(gunicorn: Gunicorn) -> Iterator[int]:
    """The reverse proxy's port; it listens on 127.0.0.1 and reaches gunicorn from 127.0.0.1."""
    handler = type("Forwarding", (_Forwarding,), {"upstream_port": gunicorn.port})
    server = ThreadingHTTPServer((HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def _rate_limits_forgotten() -> Iterator[None]:
    with rate_limits_forgotten():
        yield


@dataclass
class Visitor:
    """A browser at its own address, talking to `port` (the proxy, or gunicorn directly)."""

    address: str
    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, form: dict[str, str] | None = None, **extra: str) -> tuple[int, str]:
        headers = {"Host": HOST, "Accept-Language": "en", **extra}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection(HOST, self.port, timeout=30, source_address=(self.address, 0))
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            answer = response.read().decode()
            if response.status == 302:
                return 302, response.getheader("Location", "")
            return response.status, answer
        finally:
            conn.close()

    def sign_in(self, email: str, password: str, **extra: str) -> str:
        """What the person sees: signed in, told the password is wrong, or told to wait."""
        status, page = self.request("GET", "/accounts/login/", **extra)
        assert status == 200, status
        token = CSRF_FIELD.search(page)
        assert token, "no CSRF token on the sign-in page"
        form = {"login": email, "password": password, "csrfmiddlewaretoken": token.group(1)}
        status, answer = self.request("POST", "/accounts/login/", form, **extra)
        if status == 429 or (status == 200 and TOO_MANY in answer):
            return "limited"
        if status == 200 and NOT_CORRECT in answer:
            return "wrong password"
        if status == 302 and "/accounts/login" not in answer:
            return "signed in"
        return f"unexpected {status}"


def live(test: Any) -> Any:
    """A test against the live gunicorn: committed rows it can read, rate-limit keys cleared around it."""
    for mark in (
        pytest.mark.postgres,
        pytest.mark.redis,
        pytest.mark.django_db(transaction=True),
        pytest.mark.usefixtures("_rate_limits_forgotten"),
    ):
        test = mark(test)
    return test


@functools.cache
def _password_hash() -> str:
    # gunicorn runs the production hashers, not the suite's MD5; made once, as each hash takes a while.
    hasher = PBKDF2PasswordHasher()
    return hasher.encode(PASSWORD, hasher.salt())


def account(email: str) -> Any:
    """A verified account whose password gunicorn can check."""
    user = UserFactory(email=email)
    user.password = _password_hash()
    user.save(update_fields=["password"])
    return user


@live
def test_one_client_locked_out_behind_the_proxy_leaves_the_next_client_free(proxy: int) -> None:
    # given an account, and an attacker who tries ten addresses' worth of wrong passwords through the
    # proxy, each time with a new email and a new made-up X-Forwarded-For
    user = account("mei@example.com")
    attacker = Visitor(ATTACKER, proxy)
    answers = [
        attacker.sign_in(f"guess{n}@example.com", WRONG, **{"X-Forwarded-For": f"198.51.100.{n}"})
        for n in range(FAILURES_PER_ADDRESS)
    ]
    assert answers == ["wrong password"] * FAILURES_PER_ADDRESS

    # when the attacker tries once more, even with the right password and another made-up address
    # then the attacker is held off
    spoofing = {"X-Forwarded-For": "198.51.100.200"}
    assert attacker.sign_in(user.email, PASSWORD, **spoofing) == "limited"
    # but a neighbour behind the same proxy signs in with the right password
    neighbour = Visitor(NEIGHBOUR, proxy)
    assert neighbour.sign_in(user.email, PASSWORD) == "signed in"
    assert neighbour.request("GET", "/inbox/")[0] == 200


@live
def test_a_client_talking_to_gunicorn_directly_cannot_pose_as_the_proxy_or_its_clients(
    gunicorn: Gunicorn, proxy: int
) -> None:
    # given a sender that reaches gunicorn without the proxy and writes its own X-Forwarded-For
    direct = Visitor(DIRECT, gunicorn.port)
    answers = [
        direct.sign_in(f"guess{n}@example.com", WRONG, **{"X-Forwarded-For": f"127.0.0.1, 198.51.100.{n}"})
        for n in range(FAILURES_PER_ADDRESS)
    ]
    assert answers == ["wrong password"] * FAILURES_PER_ADDRESS

    # then its made-up addresses were not believed: it is held off as itself
    assert direct.sign_in("guess99@example.com", WRONG, **{"X-Forwarded-For": "198.51.100.99"}) == "limited"
    # and the clients it named are not: one of them signs in through the proxy
    user = account("lei@example.com")
    assert Visitor(NEIGHBOUR, proxy).sign_in(user.email, PASSWORD) == "signed in"
    # and gunicorn's log names each client, not the proxy
    logged = gunicorn.log.read_text()
    assert f'{NEIGHBOUR} "POST /accounts/login/" 302' in logged
    assert f'{DIRECT} "POST /accounts/login/" 200' in logged


@live
def test_the_api_limit_counts_each_client_behind_the_proxy_whatever_address_it_writes(
    gunicorn: Gunicorn, proxy: int
) -> None:
    # given a client that writes a new made-up X-Forwarded-For on every request through the proxy, and one
    # that reaches gunicorn directly, posing as the proxy; twice the limit and one more each, so that one
    # window holds more than the limit even if the minute turns meanwhile
    def answers(visitor: Visitor, forwarded: str) -> list[int]:
        return [
            visitor.request("GET", API, **{"X-Forwarded-For": forwarded.format(n=n)})[0]
            for n in range(2 * API_LIMIT + 1)
        ]

    through_proxy = answers(Visitor(ATTACKER, proxy), "198.51.100.{n}")
    direct = answers(Visitor(DIRECT, gunicorn.port), "127.0.0.1, 198.51.100.{n}")

    # then each is refused past the limit, as itself
    assert 429 in through_proxy and 429 in direct, (through_proxy, direct)
    # and a neighbour behind the same proxy is not
    assert Visitor(NEIGHBOUR, proxy).request("GET", API)[0] == 200


def test_the_docker_compose_proxy_address_is_trusted_in_the_example_configuration() -> None:
    compose = (Path(settings.BASE_DIR) / "docker-compose.yml").read_text()
    example = (Path(settings.BASE_DIR) / ".env.example").read_text()
    gateway = re.search(r"gateway: ([0-9.]+)", compose)
    trusted = re.search(r"^TRUSTED_PROXIES=(.*)$", example, flags=re.MULTILINE)

    assert gateway and trusted
    assert gateway.group(1) in trusted.group(1).split(",")
    assert '"127.0.0.1:8000:8000"' in compose, "only a proxy on the host may reach gunicorn"
