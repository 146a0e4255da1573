"""Drives headless Chromium through Lineup's web interface, as a person would.

  browser_flow.py --url http://127.0.0.1:PORT --token INVESTIGATOR_TOKEN \
      --probe PHOTO --opt-out-photo PHOTO --screenshots DIR

Steps: sign in -> choose a photo (the faces found are outlined) -> search with a case
number, purpose and legal basis -> candidates shown -> open one -> sign out -> the
public opt-out form -> its reference -> the request's status. A screenshot is kept of
every step. Exits 1 naming the step that failed.
"""
import argparse
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--probe", required=True)
    parser.add_argument("--opt-out-photo", required=True)
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--driver", default="/usr/bin/chromedriver")
    args = parser.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)

    options = webdriver.ChromeOptions()
    options.binary_location = args.chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1100"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(executable_path=args.driver), options=options)
    wait = WebDriverWait(browser, 30)
    steps = []

    def step(name):
        path = os.path.join(args.screenshots, f"{len(steps) + 1:02d}-{name}.png")
        browser.save_screenshot(path)
        steps.append(name)
        print(f"browser: {name} ok ({path})", flush=True)

    def text(selector):
        return browser.find_element(By.CSS_SELECTOR, selector).text

    current = "start"
    try:
        current = "sign in"
        browser.get(args.url + "/search")
        wait.until(ready.presence_of_element_located((By.ID, "token")))
        assert "/login" in browser.current_url, "an unsigned visitor is sent to the sign-in page"
        browser.find_element(By.ID, "token").send_keys(args.token)
        step("sign-in")
        browser.find_element(By.CSS_SELECTOR, "#login-form button").click()
        wait.until(ready.presence_of_element_located((By.ID, "search-form")))

        current = "faces found in the photo"
        browser.find_element(By.ID, "photo").send_keys(os.path.abspath(args.probe))
        wait.until(ready.presence_of_element_located((By.ID, "face-1")))
        wait.until(lambda b: "face" in b.find_element(By.ID, "detect-status").text.lower()
                   and "looking" not in b.find_element(By.ID, "detect-status").text.lower())
        assert browser.find_element(By.ID, "face-choice").get_attribute("value") == "1", "the most prominent face is chosen, numbered from 1"
        step("faces-found")

        current = "search"
        browser.find_element(By.ID, "case_number").send_keys("2026/0415")
        browser.find_element(By.ID, "purpose").send_keys("identify the person in the probe photo")
        browser.find_element(By.ID, "legal_basis").send_keys("PACE 1984 s.64A")
        browser.find_element(By.ID, "search-button").click()
        wait.until(ready.presence_of_element_located((By.ID, "candidate-1")))
        heading = text("h1")
        assert heading == "Candidates for human review", f"heading was {heading!r}"
        assert "match found" not in browser.page_source.lower()
        first = text("#candidate-1")
        assert "#1" in first and "Source:" in first, f"first candidate reads {first!r}"
        shown = text("#shown-rule")
        assert "or stronger" in shown, f"the results state the rule they apply: {shown!r}"
        legend = text("#band-legend")
        assert "below threshold" in legend and "strong" in legend, f"the legend explains every band: {legend!r}"
        step("candidates")

        current = "open a candidate"
        browser.find_element(By.ID, "open-1").click()
        wait.until(ready.presence_of_element_located((By.ID, "candidate-picture")))
        provenance = text("#provenance")
        assert "Origin" in provenance and "Legal basis" in provenance, f"provenance reads {provenance!r}"
        width = browser.execute_script("return document.getElementById('candidate-picture').naturalWidth")
        assert width and width > 0, "the picture loaded"
        assert browser.find_element(By.ID, "probe-face").is_displayed(), "the probe beside the candidate"
        assert browser.find_element(By.ID, "candidate-face").is_displayed()
        assert browser.find_element(By.ID, "back-to-results").get_attribute("href").endswith("/searches/" + browser.current_url.split("/")[-3])
        step("candidate")

        current = "sign out"
        browser.find_element(By.CSS_SELECTOR, "form.who button").click()
        wait.until(ready.presence_of_element_located((By.ID, "login-form")))

        current = "public opt-out form"
        browser.get(args.url + "/opt-out")
        wait.until(ready.presence_of_element_located((By.ID, "request-form")))
        browser.find_element(By.ID, "photo").send_keys(os.path.abspath(args.opt_out_photo))
        browser.find_element(By.ID, "contact").send_keys("person@example.org")
        step("opt-out-form")
        browser.find_element(By.ID, "send").click()
        wait.until(ready.presence_of_element_located((By.ID, "reference")))
        reference = text("#reference")
        assert reference.startswith("OO-"), f"reference {reference!r}"
        step("opt-out-sent")

        current = "request status"
        browser.find_element(By.ID, "status-link").click()
        wait.until(ready.presence_of_element_located((By.ID, "request-status")))
        assert text("#request-status") == "pending"
        step("request-status")
    except Exception as error:  # report the step, keep its screenshot
        browser.save_screenshot(os.path.join(args.screenshots, "failed.png"))
        print(f"browser: step '{current}' failed: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        browser.quit()
        return 1
    browser.quit()
    print(f"browser: all {len(steps)} steps ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
