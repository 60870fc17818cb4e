"""Chat routes: ``onboarding/chat``, ``onboarding/chat/stream``, ``onboarding/current-agent``."""

from agents.views import ChatViewSet
from core.routers import OwnResourceRouter

router = OwnResourceRouter()
router.register("onboarding", ChatViewSet, basename="onboarding")

urlpatterns = router.urls
