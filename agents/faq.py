"""Short answers to what users ask during onboarding, per step: one source for every engine.

The offline engine matches a user's question to a topic here (by its ``cues``) and returns the
answer instead of saving the question as an answer; ``faq_prompt`` gives Claude the same texts
so both engines say the same thing. Answers are plain sentences for the user: no field names,
no step numbers, no medical advice.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FaqEntry:
    """One question topic: where it applies, the words that point to it, and the answer."""

    topic: str
    steps: tuple[int, ...]  # empty: every step
    cues: tuple[str, ...]  # lower-case words or phrases; the entry with the most in a question wins
    answer: str


FAQ: tuple[FaqEntry, ...] = (
    FaqEntry(
        "fitness_levels",
        (1,),
        ("level", "levels", "beginner", "intermediate", "advanced", "difference", "which one", "am i"),
        "Beginner: you rarely exercise or are just starting. Intermediate: you train on and off or a few "
        "times a week and know the basic moves. Advanced: you have trained consistently for a year or more. "
        "If you're between two, pick the lower one - the plan can step up.",
    ),
    FaqEntry(
        "limitations",
        (2,),
        ("limitation", "limitations", "limit", "mean", "injury", "injuries", "count", "condition"),
        "Limitations are anything that changes how you can train safely: an injury (a bad knee, a sore back), "
        "a condition such as asthma or high blood pressure, or things you can't do, like jumping or kneeling. "
        "A joint that clicks without pain doesn't count. If there's nothing, just say 'none'.",
    ),
    FaqEntry(
        "equipment",
        (2,),
        ("equipment", "gear", "need", "dumbbells", "buy"),
        "Tell me what you can use where you train: dumbbells, bands, a mat, a full gym, or nothing at all. "
        "You don't need to buy anything - a plan with no equipment uses your body weight.",
    ),
    FaqEntry(
        "goals",
        (3,),
        ("goal", "goals", "fat loss", "muscle", "general fitness", "secondary", "difference", "choose", "target"),
        "Fat loss focuses on burning more than you eat while keeping muscle; muscle gain on progressive "
        "strength work and enough food; general fitness on a bit of everything for health and energy. "
        "Pick the one that matters most; you can add a second one.",
    ),
    FaqEntry(
        "training_setup",
        (4,),
        ("home", "gym", "outdoor", "how many", "days", "long", "session", "enough", "minutes"),
        "Train where you'll actually go: home, a gym or outdoors all work. Two to seven days a week and "
        "20 to 180 minutes a session are possible; 3 days of 45-60 minutes is a solid start for most people.",
    ),
    FaqEntry(
        "plan_basis",
        (5, 7),
        ("based", "built", "calculated", "come from", "how did you", "where does", "made"),
        "The plan is built from what you told me: your fitness level, equipment and limitations, your goals, "
        "and the days and session length you chose. Exercises that don't suit an injury are left out. "
        "It's a starting point you can change at any time.",
    ),
    FaqEntry(
        "nutrition_targets",
        (7,),
        ("calories", "kcal", "macros", "protein", "carbs", "fat", "percent", "meals"),
        "The daily calories come from your goal (a moderate deficit for fat loss, a small surplus for muscle "
        "gain), and the protein, carb and fat split shares them out; the three always add up to 100%. "
        "I'm not a dietitian - for a medical diet, check with one.",
    ),
    FaqEntry(
        "diet_types",
        (6,),
        ("vegetarian", "vegan", "pescatarian", "keto", "paleo", "omnivore", "diet", "difference"),
        "Omnivore: you eat everything. Vegetarian: no meat or fish. Vegan: no animal products at all. "
        "Pescatarian: vegetarian plus fish. Keto: very low carb, high fat. Paleo: whole foods, no grains or dairy.",
    ),
    FaqEntry(
        "allergies_intolerances",
        (6,),
        ("allergy", "allergies", "intolerance", "intolerances", "difference", "mean", "dislike"),
        "An allergy is your immune system reacting to a food (peanuts, shellfish) and can be dangerous; an "
        "intolerance is trouble digesting it (lactose, gluten). Dislikes are foods you'd just rather not eat. "
        "If none apply, say 'none'.",
    ),
    FaqEntry(
        "schedule",
        (8,),
        ("days", "time", "times", "meal", "meals", "why", "apart"),
        "Pick the days you'll train (as many as you chose earlier) and the time you usually start. Meal "
        "times help space your food through the day; keep them at least two hours apart.",
    ),
    FaqEntry(
        "hydration_supplements",
        (9,),
        ("water", "much", "supplement", "supplements", "reminder", "reminders", "need"),
        "Around 2 to 3 litres of water a day suits most adults, more when you sweat a lot. Reminders are "
        "optional. Supplements are optional too: the basics come from food, and I only give general guidance.",
    ),
    FaqEntry(
        "data_use",
        (),
        ("data", "privacy", "why do you need", "why do you ask", "stored", "who sees", "delete"),
        "Your answers are used only to build your training and meal plans. You can change them later or "
        "erase them at any time.",
    ),
)


def faq_for_step(step: int) -> tuple[FaqEntry, ...]:
    """The entries that apply to ``step``, the step's own first."""
    own = tuple(entry for entry in FAQ if step in entry.steps)
    return own + tuple(entry for entry in FAQ if not entry.steps)


def faq_prompt(step: int) -> str:
    """The step's FAQ as prompt text, so Claude answers the same questions the same way."""
    lines = [f"- {entry.topic.replace('_', ' ')}: {entry.answer}" for entry in faq_for_step(step)]
    return "If the user asks, answer briefly from these notes, then return to the pending question:\n" + "\n".join(
        lines
    )
