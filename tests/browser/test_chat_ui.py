"""The chat UI in a real headless Chromium against the real Serve app: a wrong key, sign-in,
a streamed answer with sources, a source opened in its document, a follow-up, feedback, a
reload that finds the conversation again, a document with <script> shown as inert text, and
the narrow-screen layout. Screenshots of each state go to test-artifacts/browser/."""

from __future__ import annotations

import sqlite3

import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.chat_app import HOSTILE_QUESTION, MODEL, TARIFF_QUESTION

pytestmark = [pytest.mark.integration, pytest.mark.browser]
WAIT_S = 120


@pytest.fixture
def app(chat_served):
    return chat_served


def css(driver, selector: str):
    return driver.find_element(By.CSS_SELECTOR, selector)


def wait(driver, condition, seconds: float = WAIT_S):
    """``condition`` true within ``seconds``. While a page is being replaced (a reload, a sign-in
    redirect) an element found a moment before belongs to the old document: not yet, not an
    error (chromedriver answers "Node with given id does not belong to the document")."""

    def check(d):
        try:
            return condition(d)
        except StaleElementReferenceException:
            return False
        except WebDriverException as exc:
            if "does not belong to the document" in (exc.msg or ""):
                return False
            raise

    return WebDriverWait(driver, seconds).until(check)


def sign_in(driver, key: str) -> None:
    wait(driver, lambda d: css(d, "#api-key").is_displayed())
    field = css(driver, "#api-key")
    field.clear()
    field.send_keys(key, Keys.ENTER)


def signed_in(driver, base: str, key: str = "key-acme") -> None:
    """Open the page; sign in unless the tab still holds a key."""
    driver.get(base)
    wait(driver, lambda d: css(d, "#app").is_displayed() or css(d, "#signin").is_displayed())
    if css(driver, "#signin").is_displayed():
        sign_in(driver, key)
    wait(driver, lambda d: css(d, "#app").is_displayed())


def ask(driver, question: str) -> object:
    """Type the question, send it with Enter, wait for the whole answer; its <li>."""
    answers = len(driver.find_elements(By.CSS_SELECTOR, ".message.assistant"))
    box = css(driver, "#question")
    box.send_keys(question, Keys.ENTER)
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".message.assistant")) > answers
         and d.find_element(By.ID, "send").is_enabled()
         and d.find_elements(By.CSS_SELECTOR, ".message.assistant")[-1]
         .find_elements(By.CSS_SELECTOR, ".feedback"))  # fmt: skip
    return driver.find_elements(By.CSS_SELECTOR, ".message.assistant")[-1]


def card_files(answer) -> list[str]:
    return [c.text for c in answer.find_elements(By.CSS_SELECTOR, ".card .source")]


def test_wrong_key_is_refused_with_a_message(app, browser, screenshot) -> None:
    browser.get(app["base"])
    sign_in(browser, "not-a-key")
    wait(browser, lambda d: css(d, "#signin-error").text)
    assert "Неверный" in css(browser, "#signin-error").text
    assert not css(browser, "#app").is_displayed()
    screenshot("01-wrong-key")


def test_ask_follow_up_feedback_and_reload(app, browser, screenshot) -> None:
    browser.get(app["base"])
    sign_in(browser, "key-acme")
    wait(browser, lambda d: css(d, "#app").is_displayed())
    assert MODEL in [
        o.get_attribute("value") for o in browser.find_elements(By.CSS_SELECTOR, "#model option")
    ]

    first = ask(browser, "Кто такой Никола Тесла?")
    assert first.find_element(By.CSS_SELECTOR, ".text").text.strip()
    assert any("04-nikola-tesla.md" in f for f in card_files(first))
    citations = first.find_elements(By.CSS_SELECTOR, ".text a.cite")
    assert citations, first.text
    # a citation leads to its card; the card opens the chunk inside its document
    citations[0].click()
    card_id = citations[0].get_attribute("href").split("#", 1)[1]
    card = browser.find_element(By.ID, card_id)
    assert browser.switch_to.active_element == card.find_element(By.TAG_NAME, "button")
    card.find_element(By.TAG_NAME, "button").send_keys(Keys.ENTER)
    wait(browser, lambda d: css(d, "#context").get_attribute("open") is not None)
    marked = css(browser, "#context-body mark").text
    snippet = card.find_element(By.CSS_SELECTOR, ".snippet").text
    assert marked and marked[:60] == snippet[:60]
    assert len(browser.find_elements(By.CSS_SELECTOR, "#context-body > *")) > 1
    screenshot("03-source-in-context")
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait(browser, lambda d: css(d, "#context").get_attribute("open") is None)

    # the follow-up names nobody: retrieval uses the conversation
    follow_up = ask(browser, "А когда он умер?")
    assert any("04-nikola-tesla.md" in f for f in card_files(follow_up))
    follow_up.find_element(By.CSS_SELECTOR, ".feedback input").send_keys("нет даты смерти")
    down = follow_up.find_element(By.CSS_SELECTOR, ".feedback button.down")
    down.click()
    wait(browser, lambda d: down.get_attribute("aria-pressed") == "true")
    assert "отзыв сохранён" in css(browser, "#status").text
    with sqlite3.connect(app["db"]) as db:
        assert db.execute("SELECT tenant, rating, comment, source FROM feedback").fetchall() == [
            ("acme", -1, "нет даты смерти", "ui")
        ]
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", follow_up)
    screenshot("02-answer-with-sources")

    # a reload keeps the key for this tab and lists the conversation; it opens with its answers
    browser.refresh()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#conversations li"))
    entry = css(browser, "#conversations li button")
    assert entry.text == "Кто такой Никола Тесла?"
    entry.click()
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".message")) == 4)
    texts = [m.find_element(By.CSS_SELECTOR, ".text").text
             for m in browser.find_elements(By.CSS_SELECTOR, ".message")]  # fmt: skip
    assert texts[0] == "Кто такой Никола Тесла?" and texts[2] == "А когда он умер?"
    assert len(browser.find_elements(By.CSS_SELECTOR, ".message.assistant .card")) >= 2
    screenshot("04-reloaded-conversation")

    # another key of the same tenant does not see this key's conversations
    css(browser, "#signout").click()
    sign_in(browser, "key-acme-2")
    wait(browser, lambda d: css(d, "#app").is_displayed())
    assert browser.find_elements(By.CSS_SELECTOR, "#conversations li") == []


def test_document_with_script_is_shown_as_text(app, browser, screenshot) -> None:
    signed_in(browser, app["base"])
    css(browser, "#new-conversation").click()
    answer = ask(browser, HOSTILE_QUESTION)
    snippets = [s.text for s in answer.find_elements(By.CSS_SELECTOR, ".card .snippet")]
    assert any("<script>" in s and "onerror" in s for s in snippets), snippets
    card = next(c for c in answer.find_elements(By.CSS_SELECTOR, ".card")
                if "<script>" in c.text)  # fmt: skip
    card.find_element(By.TAG_NAME, "button").click()
    wait(browser, lambda d: css(d, "#context").get_attribute("open") is not None)
    assert "<script>" in css(browser, "#context-body mark").text
    screenshot("05-script-inert")
    inert = browser.execute_script(
        "return [window.pwned === undefined, document.title,"
        " document.querySelectorAll('#messages script, #messages img, #context script,"
        " #context img, #messages b, #context b').length]"
    )
    assert inert == [True, "ruai — вопросы к документам", 0]
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)


def test_a_sheet_cited_names_its_sheet_on_the_card(app, browser, screenshot) -> None:
    signed_in(browser, app["base"])
    answer = ask(browser, TARIFF_QUESTION)
    places = [f for f in card_files(answer) if "tarify.xlsx" in f]
    assert places and 'лист "Тарифы"' in places[0], card_files(answer)
    screenshot("08-sheet-cited")


def test_narrow_screen_stacks_the_layout(app, browser, screenshot) -> None:
    browser.set_window_size(390, 844)
    try:
        signed_in(browser, app["base"])
        screenshot("06-narrow-screen")
        sidebar, chat = browser.execute_script(
            "return ['.sidebar', '.chat'].map((s) => {"
            " const r = document.querySelector(s).getBoundingClientRect();"
            " return {y: r.top, height: r.height, width: r.width}; })"
        )
        width = browser.execute_script("return document.documentElement.clientWidth")
        assert sidebar["y"] + sidebar["height"] <= chat["y"] + 1
        assert chat["width"] <= width and css(browser, "#question").is_displayed()
        assert browser.execute_script(
            "return document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    finally:
        browser.set_window_size(1280, 900)


def test_service_unavailable_offers_a_retry(app, browser, screenshot) -> None:
    """The document store down: a 503 with a retry button; once it is back, retry answers."""
    from raystore import release_store
    from ruai.store.factory import open_store

    signed_in(browser, app["base"])
    css(browser, "#new-conversation").click()
    release_store(app["settings"])  # the owner actor closes the shard and exits
    squatter = open_store(app["settings"])  # …and this process holds it: no owner can open it
    try:
        css(browser, "#question").send_keys("Когда умер Никола Тесла?", Keys.ENTER)
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#status button"))
        assert "временно недоступен" in css(browser, "#status").text
        assert not browser.find_elements(By.CSS_SELECTOR, ".message")  # nothing half-saved
        screenshot("07-service-unavailable")
    finally:
        squatter.close()
    css(browser, "#status button").click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".message.assistant .feedback"))
    # the answer is on the page before it is saved; the status clears once it is
    wait(browser, lambda d: css(d, "#status").text == "")
    assert any("04-nikola-tesla.md" in f for f in card_files(
        browser.find_elements(By.CSS_SELECTOR, ".message.assistant")[-1]))  # fmt: skip
