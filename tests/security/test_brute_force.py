"""Guessing a password is limited by allauth ("login_failed": 10/m per IP, 5 per 5 minutes per
account), and the limit holds across web processes because they count in the shared Redis cache.

Real gunicorn processes (two workers each) serve the test database and the same Redis; the test
talks to them over loopback like a browser would: fetch the sign-in page for a CSRF token, post
the form, follow nothing. Every process is stopped and every rate-limit key deleted at the end.
"""

import functools
import http.client
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from tests.factories import UserFactory
from tests.processes import rate_limits_forgotten, worker_database_url

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

PASSWORD = "the-right-password-4711"
WRONG = "a-wrong-guess-0815"
#: allauth's default: five failed attempts per account in five minutes.
ATTEMPTS_PER_ACCOUNT = 5
WEB_PROCESSES = 3
#: What the load balancer sends as Host to every process (a name in the default ALLOWED_HOSTS).
HOST = "127.0.0.1"
REQUEST_TIMEOUT = 20
START_TIMEOUT = 40

TOO_MANY = "Too many failed login attempts"
NOT_CORRECT = "password you specified are not correct"
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


# --- Web processes ------------------------------------------------------------------------------------


@dataclass
class WebProcess:
    port: int
    process: subprocess.Popen[bytes]
    log: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/healthz/", headers={"Host": HOST})
        return conn.getresponse().status == 200
    except OSError:
        return False


def _stop(processes: list[WebProcess]) -> None:
    """Ask every process to stop at once (each takes a second or so), then make sure each did."""
    running = [web.process for web in processes if web.process.poll() is None]
    for process in running:
        process.terminate()
    for process in running:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def web_processes(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[WebProcess]]:
    """Three gunicorn processes with production settings on the test database and the shared Redis.

    Started once for the module: each test still runs on a transactional database, committing rows
    the processes can read, and the processes keep no connection open between requests.
    """
    logs = tmp_path_factory.mktemp("gunicorn")
    database_url = worker_database_url()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "xhs.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ["REDIS_URL"],
        # A process on loopback, over plain HTTP; no connection outlives a request, so none holds the
        # test database open after the processes stop.
        "DEBUG": "1",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CONN_MAX_AGE": "0",
        "LOG_LEVEL": "WARNING",
    }
    started: list[WebProcess] = []
    try:
        for n in range(WEB_PROCESSES):
            port = _free_port()
            log = logs / f"gunicorn-{n}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
                    [
                        sys.executable,
                        "-m",
                        "gunicorn",
                        "xhs.wsgi:application",
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--workers",
                        "2",
                        "--timeout",
                        "30",
                        "--graceful-timeout",
                        "5",
                        "--no-control-socket",
                    ],
                    env=env,
                    cwd=settings.BASE_DIR,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            started.append(WebProcess(port=port, process=process, log=log))
        deadline = time.monotonic() + START_TIMEOUT
        for web in started:
            while not _answers(web.port):
                if web.process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"gunicorn on port {web.port} did not start:\n{web.log.read_text()[-3000:]}")
                time.sleep(0.2)
        yield started
    finally:
        _stop(started)


@pytest.fixture(autouse=True)
def _rate_limits_forgotten() -> Iterator[None]:
    """No test inherits another's counts, and none are left in Redis afterwards."""
    with rate_limits_forgotten():
        yield


# --- A visitor over plain HTTP -------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    location: str
    body: str


@dataclass
class Visitor:
    """One browser session against one web process: its own cookies, English pages, no redirects followed."""

    web: WebProcess
    host: str = HOST
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Answer:
        headers = {"Host": self.host, "Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection("127.0.0.1", self.web.port, timeout=REQUEST_TIMEOUT)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return Answer(response.status, response.getheader("Location", ""), response.read().decode())
        finally:
            conn.close()

    def csrf_token(self, path: str = "/accounts/login/") -> str:
        page = self.request("GET", path)
        assert page.status == 200, f"{path} answered {page.status}"
        found = CSRF_FIELD.search(page.body)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def sign_in(self, email: str, password: str, *, path: str = "/accounts/login/") -> Answer:
        token = self.csrf_token(path)
        return self.request("POST", path, {"login": email, "password": password, "csrfmiddlewaretoken": token})

    def is_signed_in(self) -> bool:
        return self.request("GET", "/inbox/").status == 200


def outcome(answer: Answer) -> str:
    """What the person sees: signed in, told the password is wrong, or told to wait."""
    if answer.status == 429 or (answer.status == 200 and TOO_MANY in answer.body):
        return "limited"
    if answer.status == 200 and NOT_CORRECT in answer.body:
        return "wrong password"
    if answer.status == 302 and "/accounts/login" not in answer.location:
        return "signed in"
    return f"unexpected {answer.status} {answer.location}"


@functools.cache
def _password_hash() -> str:
    # The web processes' own first hasher at its full cost, so they never re-hash on sign-in; made
    # once, since each hash takes about a second.
    hasher = PBKDF2PasswordHasher()
    return hasher.encode(PASSWORD, hasher.salt())


def account(**kwargs: Any) -> Any:
    """A verified account whose password the web processes (PBKDF2, not the suite's MD5) can check."""
    user = UserFactory(**kwargs)
    user.password = _password_hash()
    user.save(update_fields=["password"])
    return user


# --- The tests --------------------------------------------------------------------------------------------


def test_wrong_passwords_spread_over_several_web_processes_lock_the_account_on_every_process(
    web_processes: list[WebProcess],
) -> None:
    # given an account, and three web processes behind one address
    user = account(email="mei@example.com")
    # the right password works on any of them (so a refusal below is the limit, not a setup fault)
    first = Visitor(web_processes[0])
    assert outcome(first.sign_in(user.email, PASSWORD)) == "signed in"
    assert first.is_signed_in()

    # when five wrong guesses arrive in turn at the three processes, each from a fresh session
    answers = [
        outcome(Visitor(web_processes[n % WEB_PROCESSES]).sign_in(user.email, WRONG))
        for n in range(ATTEMPTS_PER_ACCOUNT)
    ]
    assert answers == ["wrong password"] * ATTEMPTS_PER_ACCOUNT

    # then every process refuses the next guess, though none of them saw five
    for web in web_processes:
        assert outcome(Visitor(web).sign_in(user.email, WRONG)) == "limited", f"port {web.port}"
    # and the right password is refused too while the limit lasts, on every process
    for web in web_processes:
        visitor = Visitor(web)
        assert outcome(visitor.sign_in(user.email, PASSWORD)) == "limited", f"port {web.port}"
        assert not visitor.is_signed_in()


def test_the_admin_login_page_is_no_way_round_the_limit(web_processes: list[WebProcess]) -> None:
    # given a staff account who can reach the admin through the sign-in page
    staff = account(email="boss@example.com", is_staff=True, is_superuser=True)
    control = Visitor(web_processes[0])
    assert outcome(control.sign_in(staff.email, PASSWORD, path="/accounts/login/?next=/admin/")) == "signed in"
    assert control.request("GET", "/admin/").status == 200

    # when guesses are posted straight to the admin's own login form, more than the limit allows
    for n in range(2 * ATTEMPTS_PER_ACCOUNT + 2):
        visitor = Visitor(web_processes[n % WEB_PROCESSES])
        token = visitor.csrf_token()
        answer = visitor.request(
            "POST", "/admin/login/", {"username": staff.email, "password": WRONG, "csrfmiddlewaretoken": token}
        )
        # then the admin never checks them: it sends everyone to the rate-limited sign-in page
        assert answer.status == 302, answer.status
        assert answer.location.startswith("/accounts/login/"), answer.location

    # even the right password there signs no one in
    visitor = Visitor(web_processes[1])
    token = visitor.csrf_token()
    answer = visitor.request(
        "POST", "/admin/login/", {"username": staff.email, "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert answer.location.startswith("/accounts/login/"), answer.location
    assert visitor.request("GET", "/admin/").status == 302

    # and once five guesses failed at the sign-in page the admin sends to, every process keeps the
    # staff account out of the admin, right password or not
    for n in range(ATTEMPTS_PER_ACCOUNT):
        assert outcome(Visitor(web_processes[n % WEB_PROCESSES]).sign_in(staff.email, WRONG)) == "wrong password"
    for web in web_processes:
        visitor = Visitor(web)
        answer = visitor.sign_in(staff.email, PASSWORD, path="/accounts/login/?next=/admin/")
        assert outcome(answer) == "limited", f"port {web.port}"
        assert visitor.request("GET", "/admin/").status == 302, f"port {web.port}: the admin opened"


def test_the_account_limit_holds_whatever_host_header_a_guesser_sends(web_processes: list[WebProcess]) -> None:
    """allauth keys the per-account count by the site's domain and the login; without the sites
    framework the "domain" is the request's Host header, port included, which the client chooses."""
    # given an account
    user = account(email="lei@example.com")

    # when five wrong guesses each name a different port in the Host header (Django accepts any port
    # of an allowed host)
    answers = [
        outcome(Visitor(web_processes[n % WEB_PROCESSES], host=f"{HOST}:{1000 + n}").sign_in(user.email, WRONG))
        for n in range(ATTEMPTS_PER_ACCOUNT)
    ]
    assert answers == ["wrong password"] * ATTEMPTS_PER_ACCOUNT

    # then the account is limited for the next guess, whatever Host it names
    assert outcome(Visitor(web_processes[0], host=f"{HOST}:2000").sign_in(user.email, WRONG)) == "limited"
    assert outcome(Visitor(web_processes[1]).sign_in(user.email, PASSWORD)) == "limited"
