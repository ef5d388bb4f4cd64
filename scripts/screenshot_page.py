"""Screenshot the page after a few answers (scripts/screenshot_page.sh runs it): trains a
small model on the built-in benchmark, starts `pluralist serve --pool` on a free
127.0.0.1 port, answers in headless Chromium (the tests' driver), saves a PNG."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.serve.conftest import Server  # noqa: E402
from tests.serve.page_browser import (answer_shorter, missing, start_browser,  # noqa: E402
                                      wait_ready)


def train(root: Path) -> tuple[Path, Path]:
    from click.testing import CliRunner

    from pluralist.cli import cli

    run = lambda *args: CliRunner().invoke(cli, list(args), catch_exceptions=False)
    run("data", "synth", "--out", str(root / "bench.jsonl"), "--raters", "40",
        "--comparisons-per-rater", "40")
    run("train", str(root / "bench.jsonl"), "--family", "lowrank", "--rank", "4", "--encoder",
        "hashing:32", "--epochs", "20", "--cache-dir", str(root / "cache"), "--out", str(root / "model"))
    return root / "model", root / "bench.jsonl"


def main(out: str, answers: int, width: int, height: int) -> None:
    if missing():
        sys.exit(f"cannot take a screenshot: {missing()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model, pool = train(root)
        (root / "key.txt").write_text("screenshot-key-0123456789\n")
        server = Server(model, root / "feedback.db", "--api-key-file", str(root / "key.txt"),
                        "--pool", str(pool)).start()
        driver = start_browser(width, height)
        try:
            driver.get(server.url + "/")
            query = wait_ready(driver, 0)
            for i in range(answers):
                answer_shorter(driver, "click" if i % 2 else "key")
                query = wait_ready(driver, i + 1, query)
            driver.execute_script("document.querySelector('details').open = true")
            full = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(width, min(max(full + 40, height), 6000))
            driver.execute_script("window.scrollTo(0, 0); document.activeElement.blur()")
            driver.save_screenshot(out)
        finally:
            driver.quit()
            server.stop()
    print(out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "page.png",
         int(sys.argv[2]) if len(sys.argv) > 2 else 5,
         int(sys.argv[3]) if len(sys.argv) > 3 else 1200, 900)
