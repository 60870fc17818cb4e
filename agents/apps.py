"""The conversational agents: one per group of steps, and the LLM layer behind them."""

from django.apps import AppConfig


class AgentsConfig(AppConfig):
    """Agents, chat turns and the LLM providers."""

    name = "agents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from agents.chat_records import ChatRecords
        from agents.llm import provider_check_configuration
        from onboarding.extensions import onboarding_dependent_register

        provider_check_configuration()
        onboarding_dependent_register(name=self.name, dependent=ChatRecords())
