"""The base agent: prompt, tool schema, how extracted values are applied, and how replies are phrased.

Every agent owns one or more consecutive steps. Its tool's ``input_schema`` is
built from those steps' definitions (``onboarding.steps``), so what the model
may send is exactly what the server validates. The LLM proposes, the code
disposes: ``apply`` validates every extracted value and only valid ones are
kept; a step completes only when its whole answer validates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from agents import wording
from agents.faq import faq_prompt
from agents.prompts import BASE_PROMPT, STEP_GUIDES
from core.errors import FieldErrors, UnprocessableError
from onboarding.agent_memory import agent_memory_key
from onboarding.steps import (
    AllStepData,
    Boolean,
    Choice,
    ClockTime,
    FieldSpec,
    Integer,
    Number,
    ProposalKind,
    StepData,
    StepDefinition,
    field_answer,
    plain_text,
    step_fields_validate,
    step_get,
    step_json_schema,
    step_missing_fields,
    step_rule_errors,
    step_validate,
)

CONTEXT_PROMPT = """About this user so far (already validated and saved):
{known}
Collected for this step: {draft}
Still needed for this step: {missing}
{proposal}"""


@dataclass
class StepOutcome:
    """What applying one turn's extracted values did to a step."""

    step: int
    accepted: StepData = field(default_factory=dict)
    draft: StepData = field(default_factory=dict)
    errors: FieldErrors = field(default_factory=dict)
    complete_data: StepData | None = None
    # Answers of other steps changed by this turn (e.g. "make it 3 days" in the plan review).
    other_steps: dict[int, StepData] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """The step's whole answer validated."""
        return self.complete_data is not None


def _describe_spec(spec: FieldSpec) -> str:
    optional = " (optional)" if not spec.required else ""
    if isinstance(spec, Choice):
        kind = "one of " + ", ".join(spec.choices)
    elif isinstance(spec, Integer | Number):
        kind = f"a number from {spec.minimum:g} to {spec.maximum:g}"
    elif isinstance(spec, ClockTime):
        kind = "a time HH:MM"
    elif isinstance(spec, Boolean):
        kind = "true only when the user clearly approves" if spec.must_be_true else "true or false"
    else:
        kind = "see the tool schema"
    return f"- {spec.name}{optional}: {spec.description} ({kind})"


def problem_text(step: StepDefinition, name: str, messages: list[str]) -> str:
    """One rejected value explained in plain language, naming the field."""
    top = name.split(".", maxsplit=1)[0]
    try:
        spec = step.spec(top)
    except KeyError:
        return f"{name.replace('_', ' ')}: {messages[0]}"
    label = spec.label() if top == name else name.rsplit(".", maxsplit=1)[-1].replace("_", " ")
    if isinstance(spec, Choice):
        return wording.problem_choice(label, [choice.replace("_", " ") for choice in spec.choices])
    if isinstance(spec, Integer | Number):
        return wording.problem_range(label, spec.minimum, spec.maximum)
    return f"{label}: {messages[0].rstrip('.')}"


def split_declines(step: int, values: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """Take an explicit "no" to an approval out of the values: it is an answer, not an invalid value."""
    approvals = {spec.name for spec in step_get(step).fields if isinstance(spec, Boolean) and spec.must_be_true}
    declined = any(values.get(name) is False for name in approvals)
    return {key: value for key, value in values.items() if not (key in approvals and value is False)}, declined


class BaseAgent:
    """An onboarding agent. Subclasses set the class attributes and may override ``apply_step``."""

    agent_type: ClassVar[str]
    name: ClassVar[str]
    description: ClassVar[str]
    mission: ClassVar[str]
    steps: ClassVar[tuple[int, ...]]
    # Step -> extra instructions for the model.
    guidance: ClassVar[dict[int, str]] = {}
    # Step -> the question that opens it.
    questions: ClassVar[dict[int, str]] = {}
    # Field -> how to ask for it when it is missing.
    field_questions: ClassVar[dict[str, str]] = {}

    @property
    def context_key(self) -> str:
        """This agent's key in ``agent_context``."""
        return agent_memory_key(self.agent_type)

    # --- what the model is given ------------------------------------------------

    def tool_name(self, step: int) -> str:
        """The tool that records ``step``'s answers."""
        return f"record_{step_get(step).name}"

    def tool_fields(self, step: int) -> tuple[FieldSpec, ...]:
        """The fields the model may send for ``step`` (server-computed ones left out)."""
        return tuple(spec for spec in step_get(step).fields if spec.llm_settable)

    def tool(self, step: int) -> dict[str, Any]:
        """The tool definition for ``step``, its schema generated from the step definition."""
        schema = step_json_schema(step, llm_only=True)
        properties = {spec.name: spec.json_schema() for spec in self.tool_fields(step)}
        return {
            "name": self.tool_name(step),
            "description": (
                f"Record the user's answers for onboarding step {step} ({step_get(step).title}). "
                "Send only the fields the user actually stated in their latest messages."
            ),
            "input_schema": {"type": "object", "properties": properties, "additionalProperties": False}
            | ({"description": schema["description"]} if "description" in schema else {}),
        }

    def system_static(self, step: int) -> str:
        """The part of the system prompt that is the same for every user of this step (cached)."""
        definition = step_get(step)
        return (
            BASE_PROMPT.format(
                agent_name=self.name,
                mission=self.mission,
                tool_name=self.tool_name(step),
                step=step,
                step_title=definition.title,
                field_lines="\n".join(_describe_spec(spec) for spec in self.tool_fields(step)),
                guidance=self.guidance.get(step, ""),
                step_guide=STEP_GUIDES[step].format(tool_name=self.tool_name(step)),
            )
            + "\n\n"
            + faq_prompt(step)
        )

    def system_dynamic(self, step: int, steps_data: AllStepData, draft: StepData) -> str:
        """This user's context: what earlier steps said, what this step has, what is missing."""
        known = "\n".join(
            f"- {step_get(number).title}: {plain_text(data)}"
            for number, data in sorted(steps_data.items())
            # The plan itself is long and built by code: the proposal below shows it when it matters.
            if number != step and step_get(number).proposal is not ProposalKind.WORKOUT_PLAN
        )
        proposal = self.proposal_text(step, draft)
        return CONTEXT_PROMPT.format(
            known=known or "- nothing yet",
            draft=json.dumps(draft, sort_keys=True) if draft else "nothing yet",
            missing=", ".join(step_missing_fields(step, draft)) or "nothing: ask the user to confirm",
            proposal=f"The proposal shown to the user:\n{proposal}" if proposal else "",
        )

    # --- proposals (steps whose answer is built by code) ---------------------------

    def propose(self, step: int, steps_data: AllStepData, draft: StepData) -> StepData:
        """Values the server proposes when a step opens; most steps propose nothing."""
        return {}

    def proposal_text(self, step: int, draft: StepData) -> str:
        """The current proposal as text, for prompts and replies."""
        return ""

    # --- applying extracted values ------------------------------------------------

    def apply_step(self, step: int, draft: StepData, values: Mapping[str, Any], steps_data: AllStepData) -> StepOutcome:
        """Validate the extracted values, merge the valid ones into the draft and check completion."""
        values, declined = split_declines(step, values)
        accepted, errors = step_fields_validate(step, values)
        outcome = StepOutcome(step=step, accepted=accepted, errors=errors, draft={**draft, **accepted})
        if declined:
            outcome.draft.pop("approved", None)
            outcome.notes.append(wording.reply_declined())
        self.check_complete(outcome, steps_data)
        return outcome

    def check_complete(self, outcome: StepOutcome, steps_data: AllStepData) -> None:
        """Set ``complete_data`` when the draft validates as a whole, else record what breaks a rule."""
        others = {**steps_data, **outcome.other_steps}
        if step_missing_fields(outcome.step, outcome.draft):
            errors = step_rule_errors(outcome.step, outcome.draft, other_steps=others)
        else:
            try:
                outcome.complete_data = step_validate(outcome.step, outcome.draft, other_steps=others)
                return
            except UnprocessableError as exc:
                errors = exc.errors or {}
        for name, messages in errors.items():
            outcome.errors.setdefault(name, messages)
            if name in outcome.draft:  # a value that breaks a rule is not kept
                outcome.draft.pop(name)
                outcome.accepted.pop(name, None)

    # --- phrasing ---------------------------------------------------------------------

    def opening(self, step: int, draft: StepData, steps_data: AllStepData) -> str:
        """What the agent says when ``step`` opens."""
        proposal = self.proposal_text(step, draft)
        question = self.questions.get(step, wording.reply_step_opening(step_get(step).title)).format(
            days=field_answer(steps_data, "days_per_week", "your"),
            meals=field_answer(steps_data, "meals_per_day", "your"),
        )
        return f"{question}\n{proposal}" if proposal else question

    def no_answer(self, message: str) -> str:
        """What to say when a message answered nothing: a question gets a short reply, the rest a shrug."""
        return wording.reply_no_answer(message)

    def ask_missing(self, step: int, draft: StepData) -> str:
        """Ask for up to two missing fields, by name."""
        missing = step_missing_fields(step, draft)
        if not missing:
            return self.questions.get(step, "")
        asks = [self.field_questions.get(name) or wording.ask_field(name) for name in missing[:2]]
        return wording.reply_ask(asks)

    def acknowledge(self, step: int, accepted: StepData) -> str:
        """Repeat back what was saved, so the user can spot a misunderstanding."""
        shown = {key: value for key, value in accepted.items() if key not in ("plan", "approved")}
        if not shown:
            return ""
        definition = step_get(step)
        parts = [
            wording.noted_value(definition.spec(key).label(), definition.spec(key).display(value), value)
            for key, value in shown.items()
        ]
        return wording.reply_acknowledge(parts)
