"""Headless Chromium driven by Selenium, for the page's end-to-end test and screenshot
script: Debian's chromium and chromedriver, never a browser download."""

from __future__ import annotations

import os
import shutil

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def missing() -> str | None:
    """Why no browser test can run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install 'pluralist[test]')"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (os.path.exists(path) or shutil.which(os.path.basename(path))):
            return f"{path} is absent (apt-get install {package})"
    return None


def start_browser(width: int = 1200, height: int = 1600):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", f"--window-size={width},{height}"):
        options.add_argument(arg)
    if os.path.exists(CHROMIUM):
        options.binary_location = CHROMIUM
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER if os.path.exists(CHROMEDRIVER)
                                              else shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(60)
    return driver


def text(driver, element_id: str) -> str:
    return driver.find_element("id", element_id).text


def attribute(driver, element_id: str, name: str) -> str:
    return driver.find_element("id", element_id).get_attribute(name) or ""


def wait_until(driver, condition, timeout: float = 30.0):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda d: condition(d))


def wait_ready(driver, answered: int | None = None, previous_query: str | None = None):
    """Until a question is shown (another than `previous_query`), nothing is in flight,
    and (if given) the progress says `answered`."""
    def ready(d):
        query = attribute(d, "question", "data-query")
        return (query and query != previous_query and not attribute(d, "question", "data-busy")
                and (answered is None or attribute(d, "progress-count", "data-answered") == str(answered)))
    wait_until(driver, ready)
    return attribute(driver, "question", "data-query")


def answer_shorter(driver, how: str) -> str:
    """Answer the shown question preferring the shorter response (a taste unlike the
    population's), by clicking its button or pressing its key; which side was chosen."""
    side = "a" if len(text(driver, "response-a")) <= len(text(driver, "response-b")) else "b"
    if how == "click":
        driver.find_element("id", f"btn-{side}").click()
    else:
        press(driver, "1" if side == "a" else "2")
    return side


def press(driver, key: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(key).perform()
