"""Onboarding routes: ``onboarding`` and ``onboarding/<action>`` (the chat's are beside them, in agents.urls)."""

from core.routers import OwnResourceRouter
from onboarding.views import OnboardingViewSet

router = OwnResourceRouter()
router.register("onboarding", OnboardingViewSet, basename="onboarding")

urlpatterns = router.urls
