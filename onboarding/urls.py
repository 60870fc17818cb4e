"""Onboarding routes: ``onboarding`` and ``onboarding/<action>`` (the chat's are beside them, in agents.urls)."""

from onboarding.views import OnboardingViewSet
from shuren.routers import OwnResourceRouter

router = OwnResourceRouter()
router.register("onboarding", OnboardingViewSet, basename="onboarding")

urlpatterns = router.urls
