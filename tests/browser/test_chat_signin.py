"""Signing in on the chat page through the identity provider, in a real headless Chromium: the
provider's own login page (oidc-provider, authorization code + PKCE), an answer from the
documents of the user's groups only, a reload, sign-out that ends the provider's session, and a
second user of another group who is not shown the first one's documents. The provider's access
tokens live TOKEN_TTL_S seconds: the page renews them silently with its refresh token."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import jwt
import pytest
from selenium.webdriver.common.by import By

from tests.conftest import free_port
from tests.support import http_calls
from tests.support.chat_app import chat_app
from tests.support.oidc_provider import AUDIENCE, OidcProvider, provider_missing

from .test_chat_ui import ask, card_files, css, wait

pytestmark = [pytest.mark.integration, pytest.mark.browser]
EU_LAW = "Какие договоры образуют Европейский Союз?"
# short-lived access tokens, and the API's clock skew for them: both sign-in tests outlive them
TOKEN_TTL_S, LEEWAY_S = 8, 1
ACCOUNTS = {
    "alice": {"preferred_username": "alice", "groups": ["/tenants/acme/legal"]},
    "carol": {"preferred_username": "carol", "groups": ["/tenants/acme/hr"]},
}


@pytest.fixture(scope="module")
def app(ray_cluster, sample_articles: Path, tmp_path_factory):
    from pipelines.ingest import run_ingest

    missing = provider_missing()
    if missing:
        pytest.fail(missing)
    tmp = tmp_path_factory.mktemp("chat-signin")
    port = free_port()
    extra = {"oidc_issuer": f"http://127.0.0.1:{port}", "oidc_audience": AUDIENCE,
             "oidc_ui_client_id": "ruai-chat", "oidc_jwks_min_refresh_s": 0,
             "oidc_leeway_s": LEEWAY_S, "ui_api_key_form": False}  # fmt: skip
    with chat_app(sample_articles, tmp, extra) as served:
        legal = tmp / "legal"
        legal.mkdir()
        (article,) = sample_articles.glob("16-european-union-law*.md")
        shutil.copy(article, legal / article.name)
        (legal / ".ruai-access.yaml").write_text("groups: [/legal]\n")
        assert run_ingest(served["settings"], str(legal), tenant="acme").documents_ok == 1
        provider = OidcProvider(port, [], browser_client=("ruai-chat", f"{served['base']}/"),
                                accounts=ACCOUNTS, ttl_s=TOKEN_TTL_S)  # fmt: skip
        provider.start()
        try:
            yield served | {"legal": article.name}
        finally:
            provider.close()


def provider_sign_in(driver, login: str | None, if_asked: bool = False) -> None:
    """Click "Войти"; on the provider's pages log in as ``login`` (None: the provider still has
    a session and sends the browser straight back; ``if_asked``: either) and consent."""
    wait(driver, lambda d: css(d, "#sso-signin").is_displayed())
    assert not css(driver, "#signin-form").is_displayed()  # the deployment hid the key form
    css(driver, "#sso-signin").click()
    if if_asked:
        wait(driver, lambda d: d.find_elements(By.NAME, "login") or d.find_elements(By.ID, "app"))
        login = login if driver.find_elements(By.NAME, "login") else None
    if login is not None:
        wait(driver, lambda d: d.find_elements(By.NAME, "login"))
        driver.find_element(By.NAME, "login").send_keys(login)
        driver.find_element(By.NAME, "password").send_keys("any")
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, lambda d: d.find_elements(By.ID, "app") and css(d, "#app").is_displayed()
         or d.find_elements(By.CSS_SELECTOR, "button[autofocus]"))  # fmt: skip
    if not driver.find_elements(By.ID, "app"):  # the consent page
        driver.find_element(By.CSS_SELECTOR, "button[autofocus]").click()
    wait(driver, lambda d: d.find_elements(By.ID, "app") and css(d, "#app").is_displayed())


def test_sign_in_ask_reload_sign_out_and_another_group(app, browser, screenshot) -> None:
    browser.get(app["base"])
    provider_sign_in(browser, "alice")
    assert (
        "alice" in css(browser, "#user").text
        and "/tenants/acme/legal" in css(browser, "#user").text
    )
    assert "?code=" not in browser.current_url
    answer = ask(browser, EU_LAW)
    screenshot("signin-01-alice-answer")
    assert any(card.startswith(app["legal"]) for card in card_files(answer))

    browser.refresh()  # the tokens lived in the page: sign in again, the provider remembers alice
    provider_sign_in(browser, None)
    assert "alice" in css(browser, "#user").text
    # the open conversation is open again
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".message.assistant .card"))
    assert css(browser, "#conversation-title").text == EU_LAW

    css(browser, "#signout").click()  # ends the provider's session too: it asks to confirm
    wait(browser, lambda d: "/session/end" in d.current_url
         and d.find_elements(By.CSS_SELECTOR, "button[autofocus]"))  # fmt: skip
    browser.find_element(By.CSS_SELECTOR, "button[autofocus]").click()
    wait(browser, lambda d: d.current_url.startswith(app["base"]))
    provider_sign_in(browser, "carol")  # a login page again: the provider's session is over
    assert "carol" in css(browser, "#user").text
    assert not browser.find_elements(By.CSS_SELECTOR, "#conversations li")  # alice's are hers
    answer = ask(browser, EU_LAW)
    screenshot("signin-02-carol-answer")
    assert card_files(answer) and not any(c.startswith(app["legal"]) for c in card_files(answer))


def test_the_session_is_renewed_silently(app, browser) -> None:
    """The page renews its access token with the refresh token before it expires: the user
    asks again in the open conversation long after the first token stopped being accepted,
    without the sign-in page, and no token is ever in the page's storage."""
    browser.get(app["base"])
    provider_sign_in(browser, "carol", if_asked=True)
    ask(browser, EU_LAW)
    title = css(browser, "#conversation-title").text
    answers = len(browser.find_elements(By.CSS_SELECTOR, ".message.assistant"))
    first = browser.execute_script("return state.key")
    expires = jwt.decode(first, options={"verify_signature": False})["exp"]
    wait(browser, lambda d: d.execute_script("return state.key") != first)  # renewed
    wait(browser, lambda d: time.time() > expires + LEEWAY_S + 1)
    refused = http_calls.get(f"{app['base']}/v1/models", timeout=30,
                        headers={"Authorization": f"Bearer {first}"})  # fmt: skip
    assert refused.status_code == 401  # the first token is dead, the page's is not

    answer = ask(browser, "А что известно про Маастрихтский договор?")
    assert css(browser, "#app").is_displayed() and not css(browser, "#signin").is_displayed()
    assert css(browser, "#conversation-title").text == title
    assert len(browser.find_elements(By.CSS_SELECTOR, ".message.assistant")) == answers + 1
    assert card_files(answer)
    stored = browser.execute_script(
        "return JSON.stringify({...sessionStorage}) + JSON.stringify({...localStorage})"
    )
    tokens = browser.execute_script("return [state.key, state.refreshToken, state.idToken]")
    assert all(tokens) and not any(token in stored for token in tokens)
