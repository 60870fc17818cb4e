"""The nine onboarding steps, each defined once; import step names from here.

A step is a list of field specs plus metadata. From that one definition come:

* validation with per-field messages (``step_validate`` / ``step_fields_validate``,
  through a DRF serializer built from the specs),
* the JSON Schema the LLM tools use (``step_json_schema``),
* the OpenAPI components (``step_serializer_class`` is what drf-spectacular reads),
* the completion check (``step_is_complete``) and the progress endpoint's field list,
* which agent owns the step and which proposal the server builds for it
  (``steps_of_agent``, ``step_with_proposal``, ``step_of_field``, ``field_answer``).

The package has four parts; to change...

* a kind of field (how it validates, its JSON Schema): ``specs.py``, strict DRF fields in ``strict.py``;
* a step, its fields, owner or proposal: ``catalogue.py``;
* a rule across steps (workout days vs days per week, meal times vs meals per day): ``rules.py``;
* how a whole answer is judged: ``validation.py``.
"""

from onboarding.steps.catalogue import (
    DIET_TYPES,
    FIRST_STEP,
    GOALS,
    LAST_STEP,
    PLAN_FIELDS,
    SESSION_FIELDS,
    STEPS,
    WORKOUT_FOCUSES,
    AgentType,
    ProposalKind,
    StepDefinition,
    field_answer,
    field_spec,
    step_data_by_number,
    step_get,
    step_of_field,
    step_with_proposal,
    steps_of_agent,
)
from onboarding.steps.rules import MEAL_GAP_MINUTES, CrossStepRule, workout_plan_basis
from onboarding.steps.specs import (
    WEEKDAY_NAMES,
    AllStepData,
    Boolean,
    Choice,
    ClockTime,
    ClockTimeList,
    ExerciseName,
    FieldSpec,
    Group,
    Integer,
    Number,
    PlanBasis,
    Records,
    StepData,
    TextList,
    WeekdayList,
    camel,
    plain_text,
    specs_validate,
)
from onboarding.steps.strict import (
    NOT_BLANK_PATTERN,
    PLAN_BASIS_PATTERN,
    TIME_PATTERN,
    StrictBooleanField,
    StrictCharField,
    StrictFloatField,
    StrictIntegerField,
)
from onboarding.steps.validation import (
    step_fields_validate,
    step_is_complete,
    step_json_schema,
    step_missing_fields,
    step_rule_errors,
    step_serializer_class,
    step_validate,
)

__all__ = [
    "DIET_TYPES",
    "FIRST_STEP",
    "GOALS",
    "LAST_STEP",
    "MEAL_GAP_MINUTES",
    "NOT_BLANK_PATTERN",
    "PLAN_BASIS_PATTERN",
    "PLAN_FIELDS",
    "SESSION_FIELDS",
    "STEPS",
    "TIME_PATTERN",
    "WEEKDAY_NAMES",
    "WORKOUT_FOCUSES",
    "AgentType",
    "AllStepData",
    "Boolean",
    "Choice",
    "ClockTime",
    "ClockTimeList",
    "CrossStepRule",
    "ExerciseName",
    "FieldSpec",
    "Group",
    "Integer",
    "Number",
    "PlanBasis",
    "ProposalKind",
    "Records",
    "StepData",
    "StepDefinition",
    "StrictBooleanField",
    "StrictCharField",
    "StrictFloatField",
    "StrictIntegerField",
    "TextList",
    "WeekdayList",
    "camel",
    "field_answer",
    "field_spec",
    "plain_text",
    "specs_validate",
    "step_data_by_number",
    "step_fields_validate",
    "step_get",
    "step_is_complete",
    "step_json_schema",
    "step_missing_fields",
    "step_of_field",
    "step_rule_errors",
    "step_serializer_class",
    "step_validate",
    "step_with_proposal",
    "steps_of_agent",
    "workout_plan_basis",
]
