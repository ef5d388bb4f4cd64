"""The page end to end in headless Chromium against a real server: answer ten questions
by clicking and by keys, the ten comparisons in the database, the ranking shown changed,
a reload keeps the person and their progress, deleting removes their answers."""

from __future__ import annotations

import pytest

from .page_browser import (answer_shorter, attribute, missing, press, start_browser, text,
                           wait_ready, wait_until)
from .page_fixtures import page_files, page_server, stored  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(missing() is not None, reason=f"no headless browser: {missing()}")


@pytest.fixture(scope="module")
def browser():
    driver = start_browser()
    yield driver
    driver.quit()


def answer_ten(driver) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Ten answers, alternately by click and by key, with one skip (by key) between:
    the (prompt, chosen, rejected) of each, and the ranking shown after each."""
    given, rankings, query = [], [], wait_ready(driver, 0)
    for i in range(10):
        shown = text(driver, "prompt"), text(driver, "response-a"), text(driver, "response-b")
        side = answer_shorter(driver, "click" if i % 2 == 0 else "key")
        given.append((shown[0], *(shown[1:] if side == "a" else shown[:0:-1])))
        query = wait_ready(driver, i + 1, query)
        rankings.append(attribute(driver, "yours", "data-order"))
        if i == 4:
            press(driver, "s")                   # a skip: asked something else, nothing stored
            query = wait_ready(driver, 5, query)
    return given, rankings


def test_a_person_teaches_the_page_their_taste(page_server, browser):
    browser.get(page_server.url + "/")
    wait_ready(browser, 0)
    rater = text(browser, "rater")
    assert rater.startswith("person-")
    before = attribute(browser, "yours", "data-order")
    given, rankings = answer_ten(browser)
    rows = stored(page_server.db, rater)
    assert len(rows) == 10
    # whitespace as the browser renders it: compare the words
    words = lambda texts: [" ".join(" ".join(t.split()) for t in row[:3]) for row in texts]
    assert words(rows) == words(given)
    assert any(shown != before for shown in rankings)     # the ranking shown moved with the answers
    assert len(browser.find_elements("css selector", "#answers li")) == 10

    browser.refresh()
    wait_ready(browser, 10)
    assert text(browser, "rater") == rater
    assert len(browser.find_elements("css selector", "#answers li")) == 10
    assert "10 of 20" in text(browser, "progress-count")

    browser.find_element("id", "delete").click()
    browser.switch_to.alert.accept()
    wait_until(browser, lambda d: attribute(d, "progress-count", "data-answered") == "0")
    assert stored(page_server.db, rater) == []
    assert attribute(browser, "yours", "data-order") == before      # back to the population's


def test_the_page_fits_a_phone_and_has_labels(page_server, browser):
    browser.set_window_size(390, 844)
    browser.get(page_server.url + "/")
    wait_ready(browser)
    overflow = browser.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    a, b = (browser.find_element("id", i).rect for i in ("response-a", "response-b"))
    assert b["y"] > a["y"]                        # stacked, not squeezed side by side
    buttons = [b for b in browser.find_elements("css selector", "button") if b.is_displayed()]
    assert len(buttons) >= 6
    for button in buttons:
        assert button.accessible_name.strip(), button.get_attribute("id")
    assert browser.find_element("id", "rater-input").accessible_name == "Your rater id"
