"""The nightly audit's HTML report in a real browser (run through scripts/ci/report-browser-check.sh).

  python -m scripts.ci.report_browser_check [--binary PATH] [--screenshot PNG] [--keep DIR]

Seeds a throwaway database (the embedded cluster of a `bidengine serve` on a free port) with 6,000
bids over 150 products in a 7-day window, a quarter of them beyond the 20 % threshold, some with
a current CPC of 0, and competitor prices for a third of the products. `bidengine audit --format
html --max-rows 40` audits it (axe-core needs minutes for the default 1,000 rows per table on this
machine, and the rows all share two templates); the report is opened in headless Chromium (Debian's chromium + chromium-driver, through selenium) and checked:

  * axe-core (axe-selenium-python, bundled, offline): zero violations;
  * at 375 px and 1280 px wide: no horizontal page scroll (wide tables scroll in their own region);
  * no console errors or warnings;
  * the summary cards and the chart bars show the run's numbers, counted independently in SQL;
  * the report carries competitor prices;
  * print media (A4 width): tables fit the page with a readable font size, charts stay on the page.

--screenshot writes a 1280 px wide screenshot of the page (make test writes it under .build/;
make report-browser-check REPORT_SCREENSHOT=docs/audit-report.png refreshes the docs' one).
Prints one PASS/FAIL line per check; exit status 0 when all passed, 1 otherwise, 2 on set-up errors.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from axe_selenium_python import Axe
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as ChromeService

sys.dont_write_bytecode = True
ROOT = Path(__file__).resolve().parents[2]
from scripts.lib.check_report import Report
from scripts.lib.loadmix import Service, install_signal_cleanup, log

AS_OF = "2026-06-15T02:00:00Z"
MAX_ROWS = 40
# A4 minus 10 mm margins on each side, in CSS pixels (96 per inch).
PRINT_WIDTH = round((210 - 20) / 25.4 * 96)

SEED_SQL = f"""
SELECT setseed(0.2026);
INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at)
SELECT product_id, current_cpc, target_roas, round(current_cpc * target_roas / 100, 2), calculated_at
  FROM (SELECT 1000 + (random() * random() * 150)::int AS product_id,
               CASE WHEN g % 97 = 0 THEN 0 ELSE round((0.10 + random() * 4.90)::numeric, 2) END AS current_cpc,
               CASE WHEN random() < 0.25 THEN round((40 + random() * 140)::numeric, 1)
                    ELSE round((85 + random() * 30)::numeric, 1) END AS target_roas,
               timestamptz '{AS_OF}' - (random() * interval '7 days') - interval '1 second' AS calculated_at
          FROM generate_series(1, 6000) AS g) AS seeded;
INSERT INTO competitor_prices (source, external_id, product_id, title, price, observed_at)
SELECT 'https://competitor.example', 'ext-' || p, p, 'Competitor product ' || p,
       round((0.5 + random() * 5)::numeric, 2), timestamptz '{AS_OF}' - interval '1 day'
  FROM generate_series(1000, 1150, 3) AS p;
"""

# The audit rule, counted in SQL (exact numeric): |adjusted - current| > 0.20 x current.
FLAGGED = "abs(adjusted_cpc - current_cpc) > 0.20 * current_cpc"
WINDOW = f"calculated_at >= timestamptz '{AS_OF}' - interval '7 days' AND calculated_at < timestamptz '{AS_OF}'"



def grouped(number: int) -> str:
    return f"{number:,}"


# MARK: - The seeded run


def audited_report(binary: Path, service: Service, work: Path) -> tuple[str, dict]:
    """(HTML from the server's report route, expected numbers from SQL)."""
    cluster = service.cluster
    cluster.psql(SEED_SQL)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDIT_")}
    env["DATABASE_URL"] = f"postgresql://postgres@/{cluster.database}?host={cluster.socket_dir}&port={cluster.port}"
    result = subprocess.run(
        [str(binary), "audit", "--as-of", AS_OF, "--format", "html", "--max-rows", str(MAX_ROWS), "--no-migrate",
         "--output", str(work / "report.html")], env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"bidengine audit failed ({result.returncode}): {result.stderr[-2000:]}")
    html = (work / "report.html").read_text()
    run_id = int(cluster.psql("SELECT max(id) FROM audit_runs").strip())

    def scalar(sql: str) -> int:
        return int(cluster.psql(sql).strip())

    per_product = cluster.psql(f"SELECT product_id, count(*) FROM bids WHERE {WINDOW} AND {FLAGGED} GROUP BY product_id")
    flags = dict(tuple(int(v) for v in line.split("|")) for line in per_product.split())
    expected = {
        "reviewed": scalar(f"SELECT count(*) FROM bids WHERE {WINDOW}"),
        "flagged": scalar(f"SELECT count(*) FROM bids WHERE {WINDOW} AND {FLAGGED}"),
        "products": scalar(f"SELECT count(DISTINCT product_id) FROM bids WHERE {WINDOW} AND {FLAGGED}"),
        "product_flags": flags,
        "top_counts": sorted(flags.values(), reverse=True)[:10],
        "run_id": run_id,
    }
    return html, expected


# MARK: - Browser


def chromium() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--hide-scrollbars", "--force-device-scale-factor=1", "--lang=en-US"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Debian's driver; selenium never downloads one.
    return webdriver.Chrome(service=ChromeService("/usr/bin/chromedriver"), options=options)


def viewport(driver: webdriver.Chrome, width: int, height: int = 900, media: str = "screen") -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": media})
    time.sleep(0.2)


def page_scroll_width(driver: webdriver.Chrome) -> tuple[int, int]:
    return tuple(driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"))


def browser_checks(report: Report, driver: webdriver.Chrome, url: str, expected: dict, screenshot: Path | None) -> None:
    viewport(driver, 1280)
    driver.get(url)

    axe = Axe(driver)
    axe.inject()
    results = axe.run()
    violations = [f"{v['id']} ({v['impact']}): {v['help']} - {len(v['nodes'])} nodes, e.g. "
                  f"{v['nodes'][0]['target']}" for v in results["violations"]]
    report.check(not violations, f"axe-core {axe_version(driver)}: no violations "
                 f"({len(results['passes'])} rules passed)", violations)

    for width in (375, 1280):
        viewport(driver, width)
        scroll, client = page_scroll_width(driver)
        report.check(scroll <= client, f"no horizontal page scroll at {width} px (page {scroll} px wide)")
    viewport(driver, 375)
    scrollers = driver.execute_script(
        "return [...document.querySelectorAll('.table-scroll')].map(d => [d.scrollWidth, d.clientWidth])")
    report.check(bool(scrollers) and any(s > c for s, c in scrollers),
                 f"at 375 px the wide tables scroll inside their own region ({scrollers})")

    viewport(driver, 1280)
    cards = dict(driver.execute_script(
        "return [...document.querySelectorAll('.card')].map(c => "
        "[c.querySelector('.label').textContent, c.querySelector('.value').textContent])"))
    wanted = {"Bids reviewed": grouped(expected["reviewed"]), "Bids flagged": grouped(expected["flagged"]),
              "Products with flags": grouped(expected["products"]), "Threshold": "20%"}
    report.check(cards == wanted, f"summary cards show the run's numbers {wanted}",
                 [f"page: {cards}"] if cards != wanted else None)

    titles = driver.execute_script("return [...document.querySelectorAll('figure svg rect title')].map(t => t.textContent)")
    bands = [int(m.group(1).replace(",", "")) for t in titles if (m := re.search(r": ([\d,]+) bids$", t))]
    report.check(sum(bands) == expected["reviewed"] and len(bands) >= 5,
                 f"distribution chart: {len(bands)} bars adding up to the {grouped(expected['reviewed'])} bids reviewed "
                 f"(bars add up to {grouped(sum(bands))})")
    products = [(int(m.group(1)), int(m.group(2).replace(",", ""))) for t in titles
                if (m := re.fullmatch(r"product (\d+): ([\d,]+) flagged bids?", t))]
    wrong = [f"product {p}: {n} on the page, {expected['product_flags'].get(p)} in SQL" for p, n in products
             if expected["product_flags"].get(p) != n]
    counts = [n for _, n in products]
    report.check(not wrong and counts == expected["top_counts"], f"products chart: the 10 products with the most "
                 f"flags, with their counts {counts}", wrong + ([f"SQL's top counts {expected['top_counts']}"]
                                                            if counts != expected["top_counts"] else []))
    competitor = driver.execute_script(
        "return [...document.querySelectorAll('th')].some(th => th.textContent === 'Competitor price')")
    report.check(competitor, "the tables carry the competitor prices")

    if screenshot is not None:
        height = driver.execute_script("return document.documentElement.scrollHeight")
        viewport(driver, 1280, height)
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        report.check(screenshot.stat().st_size > 10_000, f"screenshot {screenshot} (1280 x {height} px)")

    viewport(driver, PRINT_WIDTH, media="print")
    layout = driver.execute_script("""
        const page = document.documentElement.clientWidth;
        const tables = [...document.querySelectorAll('table')].map(t => ({
            right: Math.ceil(t.getBoundingClientRect().right),
            font: parseFloat(getComputedStyle(t.querySelector('td')).fontSize),
            clipped: getComputedStyle(t.parentElement).overflowX !== 'visible'}));
        const charts = [...document.querySelectorAll('figure svg')].map(s => Math.ceil(s.getBoundingClientRect().right));
        return {page, scroll: document.documentElement.scrollWidth, tables, charts};""")
    problems = [f"table {i + 1}: right edge {t['right']} px > page {layout['page']} px" for i, t in
                enumerate(layout["tables"]) if t["right"] > layout["page"]]
    problems += [f"table {i + 1}: font {t['font']} px < 9 px" for i, t in enumerate(layout["tables"]) if t["font"] < 9]
    problems += [f"table {i + 1}: its container still clips (overflow-x)" for i, t in enumerate(layout["tables"])
                 if t["clipped"]]
    problems += [f"chart {i + 1}: right edge {r} px > page {layout['page']} px" for i, r in enumerate(layout["charts"])
                 if r > layout["page"]]
    report.check(not problems and layout["scroll"] <= layout["page"] and layout["tables"] and layout["charts"],
                 f"print media at {PRINT_WIDTH} px (A4): {len(layout['tables'])} tables and {len(layout['charts'])} "
                 "charts fit the page, table text at least 9 px", problems)
    pdf = driver.execute_cdp_cmd("Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69, "printBackground": True})
    report.check(len(base64.b64decode(pdf["data"])) > 10_000, "prints to PDF")

    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "screen"})
    logs = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
    report.check(not logs, "no console errors or warnings", [f"{e['level']}: {e['message']}" for e in logs])


def axe_version(driver: webdriver.Chrome) -> str:
    try:
        return driver.execute_script("return axe.version")
    except Exception:  # noqa: BLE001 (only a label)
        return "?"


# MARK: - Main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", type=Path, default=ROOT / ".build" / "debug" / "bidengine")
    parser.add_argument("--screenshot", type=Path, help="write a 1280 px wide screenshot here")
    parser.add_argument("--keep", type=Path, help="keep the report and logs in DIR")
    args = parser.parse_args()
    install_signal_cleanup()
    for tool in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
        if not Path(tool).exists():
            log(f"{tool} not found: install Debian's chromium and chromium-driver (make test-deps)")
            return 2
    if not args.binary.exists():
        log(f"{args.binary} not found: build it first (make build)")
        return 2

    started = time.monotonic()
    report = Report()
    work = Path(tempfile.mkdtemp(prefix="bidreport-", dir="/tmp")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    try:
        with Service(args.binary.resolve(), shutdown_timeout=5) as service:
            service.start_or_exit()
            try:
                html, expected = audited_report(args.binary.resolve(), service, work)
            except RuntimeError as error:
                log(str(error))
                return 2
            log(f"run {expected['run_id']}: {expected['reviewed']} bids reviewed, {expected['flagged']} flagged, "
                f"{expected['products']} products; report {len(html)} bytes")
            driver = chromium()
            try:
                browser_checks(report, driver, (work / "report.html").as_uri(), expected, args.screenshot)
            finally:
                driver.quit()
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"report-browser-check: {report.passed} passed, {report.failed} failed in {time.monotonic() - started:.1f}s")
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
