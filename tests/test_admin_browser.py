"""The onboarding admin in a real browser (Debian's Chromium through Selenium): what an ops person sees.

Screenshots go to tests/screenshots/ (git-ignored) so a person can look at the pages the test saw.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from onboarding.models import OnboardingState
from tests.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)),
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
    ),
]


@pytest.fixture
def browser() -> Iterator[Any]:
    """A headless Chromium run by Debian's chromedriver (a fixed Service: selenium-manager downloads nothing)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1600"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


@pytest.fixture
def state(make_user: Any) -> OnboardingState:
    make_user("root@example.com", is_staff=True, is_superuser=True)
    return OnboardingState.objects.create(
        user=make_user("ana@example.com"),
        current_step=4,
        current_agent="WORKOUT_PLANNING",
        step_data={
            "1": {"fitness_level": "beginner"},
            "3": {"primary_goal": "fat_loss"},
            "4": {"location": "home", "days_per_week": 3, "session_minutes": 45},
            "8": {"workout_days": [0, 2, 4], "workout_time": "07:30", "meal_times": ["08:00", "13:00", "19:00"]},
        },
        conversation_history=[
            {
                "role": "user",
                "content": "I'm a beginner with a bad knee",
                "timestamp": "2026-12-02T14:05:33.123456+00:00",
                "step": 1,
                "agent_type": "FITNESS_ASSESSMENT",
            },
            {
                "role": "assistant",
                "content": "Here is your week:\n- Monday: full body\n- Wednesday: upper body",
                "timestamp": "2026-12-02T14:05:40.654321+00:00",
                "step": 1,
                "agent_type": "FITNESS_ASSESSMENT",
            },
        ],
    )


def _shot(browser: Any, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def test_an_ops_person_reads_a_state_and_reset_asks_first(
    browser: Any, live_server: Any, state: OnboardingState
) -> None:
    from selenium.webdriver.common.by import By

    # Given a logged-in superuser
    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys("root@example.com")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    assert browser.find_element(By.ID, "user-tools")

    # When they open the state
    browser.get(f"{live_server.url}/admin/onboarding/onboardingstate/{state.pk}/change/")
    _shot(browser, "admin-change-page")

    # Then the title names the user and step, the answers sit under step titles in words
    assert browser.title.startswith("ana@example.com - step 4 of 9: ")
    titles = [heading.text for heading in browser.find_elements(By.CSS_SELECTOR, "section.onboarding-step h3")]
    assert "Step 1: Fitness level" in titles
    assert "Monday, Wednesday, Friday" in browser.find_element(By.CSS_SELECTOR, ".field-answers").text
    # the transcript keeps its line breaks (rendered text, not just the markup)
    coach = browser.find_elements(By.CSS_SELECTOR, ".onboarding-message")[1].text
    assert "Here is your week:\n- Monday: full body\n- Wednesday: upper body" in coach
    assert "2 Dec 2026, 14:05" in browser.find_element(By.CSS_SELECTOR, ".field-transcript").text
    # and nothing offers to save a read-only page
    assert not browser.find_elements(By.CSS_SELECTOR, "input[name=_save], input[name=_continue]")

    # When they choose Reset for the state in the list
    browser.get(f"{live_server.url}/admin/onboarding/onboardingstate/")
    browser.find_element(By.CSS_SELECTOR, f"input.action-select[value='{state.pk}']").click()
    browser.find_element(By.CSS_SELECTOR, "select[name=action] option[value=reset_onboarding]").click()
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()
    _shot(browser, "admin-reset-confirmation")

    # Then a page asks first and says what goes; nothing has changed yet
    content = browser.find_element(By.ID, "content").text
    assert "ana@example.com - step 4 of 9" in content
    assert "the conversation" in content
    state.refresh_from_db()
    assert state.current_step == 4

    # When they confirm, the onboarding starts over
    browser.find_element(By.CSS_SELECTOR, "input[type=submit][value='Yes, reset']").click()
    assert "Reset 1 onboarding(s)." in browser.find_element(By.CSS_SELECTOR, "ul.messagelist").text
    state.refresh_from_db()
    assert (state.current_step, state.conversation_history) == (1, [])
