"""Text clean-up before parsing, built on two libraries instead of hand-written rules.

* **text2num** (``alpha2digit``) turns number words into digits, in English and Spanish
  ("twenty five" -> "25", "dos mil quinientas" -> "2500"). It leaves "zero", "one" and "two"
  alone when they stand by themselves (they are often pronouns: "no one", "this one"), so those
  three are handled here, the pronoun case kept apart.
* **rapidfuzz** corrects misspelt vocabulary ("beginer" -> "beginner", "wieght" -> "weight",
  "injurie" -> "injury"): a word that is not in ``VOCABULARY`` or ``COMMON_WORDS`` and is within one
  edit (two for long words; swapped letters count as one edit) of exactly one vocabulary word, with
  the same first letter, becomes it.
  Only the engine's own vocabulary is a target, so ordinary words are never "corrected" into
  something else; each distinct word is looked up once a turn (``offline_engine.memo``).
* Spanish is read by translating its vocabulary into the English the extractors know
  ("en el gimnasio, cuatro dias, una hora" -> "at the gym, 4 days, an hour"): a phrase table,
  applied only to a message that looks Spanish, after its numbers were read by text2num.

Why these and not others (measured on this machine, see docs/offline-engine.md): pint needs about
2 s to load its unit registry and 0.5 ms per conversion, for the dozen units onboarding meets, so
units stay a small table in ``parsing``; dateparser reads "19h" as a date 19 hours ago, does not
read "half past seven", and its first call takes most of a second, so times stay in ``parsing``.
"""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz import process
from rapidfuzz.distance import OSA
from text_to_num import alpha2digit

from offline_engine.memo import remembered

# --- typo correction ----------------------------------------------------------------------------


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# fmt: off
VOCABULARY = _words("""
beginner beginners intermediate advanced novice experienced athlete athletic active fitness fitness
pushups push-ups workout workouts training exercise exercises weekly
equipment dumbbell dumbbells barbell barbells kettlebell kettlebells bench resistance bands treadmill
injury injuries injured limitation limitations shoulder shoulders knee knees ankle ankles wrist wrists
elbow elbows back hips neck pain hurts surgery asthma arthritis
lose losing weight weights muscle muscles build building gain gaining strength healthy health general
primary secondary main mainly
home gym outdoors outside minutes hours session sessions
vegetarian vegan pescatarian omnivore keto paleo allergy allergies allergic intolerance intolerances
intolerant lactose gluten peanuts peanut shellfish dislike dislikes mushrooms anything everything
calories protein carbs fats meals breakfast lunch dinner snack
monday tuesday wednesday thursday friday saturday sunday weekdays weekends
water liters litres glasses supplements supplement creatine vitamin interested reminder remind
none nothing approve approved perfect sounds
""")
# Ordinary words one edit away from a vocabulary word: never corrected.
COMMON_WORDS = _words("""
means meant mean heats heat hate have gave save live love lost last list most must mist past post
other others about after again there their these those three thing things think thank thanks where
which while would could should water later maybe rather whether
boxes backs packs pains paint plain gains grain train trains trained brain rain again
meets meet meat seat beat feat melt
hours house horse hour ours your yours
session lesson mission muscle mussel muscles mussels
walk walks talk talks balk
bread breads break breaks
knew know knees kneel
diet died dies
sure pure cure
cars cabs sack huts bads
light right might night sight fight tight weigh weighs weighed eight
""")
# fmt: on
# Informal spellings and typos too short for the edit-distance search.
_CONFUSIONS = {
    "loose": "lose",
    "loosing": "losing",
    "fourty": "forty",
    "gud": "good",
    "goood": "good",
    "gr8": "great",
    "thx": "thanks",
    "gd": "good",
    "pls": "please",
    "plz": "please",
    "yess": "yes",
    "yeh": "yeah",
    "okey": "okay",
    "oki": "okay",
    "alergy": "allergy",
    "alergic": "allergic",
    "alergies": "allergies",
    "injurys": "injuries",
}
_SHORT_WORD_RE = re.compile(r"\b(?:" + "|".join(sorted(_CONFUSIONS, key=len, reverse=True)) + r")\b")
# "yesss", "soooo good": a letter typed three times or more is one typed twice.
_REPEATED_RE = re.compile(r"([a-z])\1{2,}")
# Real words that are typos in their place: "4 days a weak", "looks god".
_IN_CONTEXT = (
    (re.compile(r"\b((?:days?|times|x|sessions?)\s+(?:a|per|every|each))\s+weak\b"), r"\1 week"),
    (re.compile(r"\b(looks|sounds|is|very|so|all)\s+god\b"), r"\1 good"),
)
_WORD_RE = re.compile(r"[a-z][a-z'-]{3,}")
_MIN_TYPO_LENGTH = 5


_FIVE_LETTER = tuple(sorted(word for word in VOCABULARY if len(word) == _MIN_TYPO_LENGTH))


def _one_letter_dropped(word: str, target: str) -> bool:
    # A letter dropped inside the word ("bans" -> "bands"); not the last one: "carb", "pale" and "hour"
    # are words of their own.
    return (
        len(word) == len(target) - 1
        and word[0] == target[0]
        and any(target[:index] + target[index + 1 :] == word for index in range(1, len(target) - 1))
    )


def _corrected(word: str) -> str:
    return remembered("corrected", word, _correction)


def _correction(word: str) -> str:
    if word in _CONFUSIONS:
        return _CONFUSIONS[word]
    stems = {word, word.removesuffix("s"), word.removesuffix("es"), word.removesuffix("ed"), word.removesuffix("ing")}
    if stems & VOCABULARY or word in COMMON_WORDS:
        return word  # a known word or one of its forms ("weights", "trained")
    if len(word) < _MIN_TYPO_LENGTH:
        # Short words are too often other words ("pair", "loss"): only a dropped letter is mended ("bans").
        dropped = [target for target in _FIVE_LETTER if _one_letter_dropped(word, target)]
        return dropped[0] if len(dropped) == 1 else word
    limit = 1 if len(word) <= 6 else 2
    matches = process.extract(word, VOCABULARY, scorer=OSA.distance, score_cutoff=limit, limit=3)
    best = [match for match, distance, _ in matches if match[0] == word[0] and distance == matches[0][1]]
    if len(best) > 1:  # "dumbels": "dumbbells" or "dumbbell"? the one that ends the same way
        best = [match for match in best if match[-1] == word[-1]]
    return best[0] if len(best) == 1 else word


def correct_typos(text: str) -> str:
    """Misspelt vocabulary words spelt right ("beginer" -> "beginner"); other words untouched."""
    text = _REPEATED_RE.sub(r"\1\1", text)
    text = _SHORT_WORD_RE.sub(lambda match: _CONFUSIONS[match.group()], text)
    for pattern, replacement in _IN_CONTEXT:
        text = pattern.sub(replacement, text)
    return _WORD_RE.sub(lambda match: _corrected(match.group()), text)


# --- numbers in words -----------------------------------------------------------------------------

_A_SCALE_RE = re.compile(r"\ban?\s+(hundred|thousand)\b")
# alpha2digit leaves a lone zero/one/two as words; "no one", "this one" are pronouns, not numbers.
_SMALL_NUMBER_RE = re.compile(
    r"\b(?P<before>no|any|some|every|this|that|the|which|each|another|other|last)?(?P<space>\s*)\b"
    r"(?P<word>zero|one|two)\b(?![-'])"
)
_SMALL_NUMBERS = {"zero": "0", "one": "1", "two": "2"}


def _small_number(match: re.Match[str]) -> str:
    before, word = match.group("before"), match.group("word")
    if before and word == "one":
        return match.group()
    return (before or "") + match.group("space") + _SMALL_NUMBERS[word]


def numbers_to_digits(text: str, language: str = "en") -> str:
    """Number words as digits ("twenty-five" -> "25", "cuatro" -> "4"); pronouns ("no one") kept."""
    if language == "en":
        text = _A_SCALE_RE.sub(r"one \1", text)
    text = alpha2digit(text, language)
    return _SMALL_NUMBER_RE.sub(_small_number, text) if language == "en" else text


# --- Spanish -------------------------------------------------------------------------------------------

# Spanish (accents removed) -> the English the extractors read. Longer phrases first.
# fmt: off
_SPANISH: dict[str, str] = {
    # yes / no / none
    "si": "yes", "claro": "sure", "vale": "ok", "de acuerdo": "agreed", "perfecto": "perfect",
    "me parece bien": "sounds good", "suena bien": "sounds good", "esta bien": "fine", "me gusta": "i like",
    "no me gusta": "i don't like", "no me guste": "i don't like", "no me gusten": "i don't like",
    "ninguno": "no", "ninguna": "no", "ningun": "no", "nada": "nothing",
    "nada mas": "nothing else", "sin mas": "nothing else",
    "no tengo": "i don't have", "tengo": "i have", "sin": "no", "tampoco": "neither",
    # level
    "principiante": "beginner", "novato": "beginner", "novata": "beginner", "intermedio": "intermediate",
    "intermedia": "intermediate", "avanzado": "advanced", "avanzada": "advanced", "flexiones": "push-ups",
    "puedo hacer": "i can do", "correr": "running", "corro": "i run", "nadar": "swimming", "nado": "i swim",
    "bicicleta": "cycling", "bici": "cycling", "caminar": "walking", "entreno": "i train", "entrenar": "train",
    # equipment, injuries, limitations
    "mancuernas": "dumbbells", "pesas": "weights", "esterilla": "mat", "colchoneta": "mat",
    "bandas elasticas": "resistance bands", "gomas": "resistance bands", "barra": "bar", "banco": "bench",
    "equipo": "equipment", "material": "equipment", "lesiones": "injuries", "lesion": "injury",
    "limitaciones": "limitations", "limitacion": "limitation", "dolor de": "pain in", "dolor": "pain",
    "rodilla": "knee", "rodillas": "knees", "espalda": "back", "hombro": "shoulder", "tobillo": "ankle",
    "muneca": "wrist", "cadera": "hip", "cuello": "neck", "asma": "asthma", "artritis": "arthritis",
    "me duele la": "pain in my", "me duele el": "pain in my",
    # goals
    "perder peso": "lose weight", "bajar de peso": "lose weight", "adelgazar": "lose weight",
    "perder grasa": "lose fat", "ganar musculo": "build muscle", "ganar masa muscular": "build muscle",
    "aumentar musculo": "build muscle", "estar en forma": "get fit", "mantenerme en forma": "stay fit",
    "estar sano": "stay healthy", "salud": "health", "objetivo principal": "main goal",
    "principal": "main", "secundario": "secondary", "tambien": "also", "quiero": "i want", "peso": "weigh",
    # workout preferences
    "en el gimnasio": "at the gym", "gimnasio": "gym", "en casa": "at home", "casa": "home",
    "al aire libre": "outdoors", "fuera": "outside", "parque": "park", "media hora": "half an hour",
    "una hora": "an hour", "hora y media": "an hour and a half", "horas": "hours", "hora": "hour",
    "minutos": "minutes", "veces": "times", "dias": "days", "dia": "day", "por semana": "a week",
    "a la semana": "a week", "semana": "week", "por dia": "a day", "al dia": "a day",
    # plans
    "comidas": "meals", "calorias": "calories", "proteina": "protein", "proteinas": "protein",
    "carbohidratos": "carbs", "grasas": "fats",
    # diet
    "como de todo": "i eat everything", "omnivoro": "omnivore", "omnivora": "omnivore",
    "vegetariano": "vegetarian", "vegetariana": "vegetarian", "vegano": "vegan", "vegana": "vegan",
    "pescetariano": "pescatarian", "pescetariana": "pescatarian", "alergico a": "allergic to",
    "alergica a": "allergic to", "alergia a": "allergic to", "alergias": "allergies", "alergia": "allergy",
    "intolerante a la": "intolerant to", "intolerante a": "intolerant to", "intolerancia a la": "intolerant to",
    "intolerancias": "intolerances", "lactosa": "lactose", "cacahuetes": "peanuts", "mani": "peanuts",
    "mariscos": "shellfish", "marisco": "shellfish", "pescado": "fish", "no como carne": "i don't eat meat",
    "carne": "meat", "no me gustan": "i don't like", "odio": "i hate", "setas": "mushrooms",
    "champinones": "mushrooms",
    # schedule
    "lunes": "monday", "martes": "tuesday", "miercoles": "wednesday", "jueves": "thursday",
    "viernes": "friday", "sabado": "saturday", "sabados": "saturday", "domingo": "sunday",
    "domingos": "sunday", "fines de semana": "weekends", "fin de semana": "weekend",
    "entre semana": "weekdays", "todos los dias": "every day", "a las": "at", "a la": "at",
    "de la manana": "am", "por la manana": "in the morning", "de la tarde": "pm",
    "por la tarde": "in the afternoon", "de la noche": "pm", "por la noche": "in the evening",
    "mediodia": "noon", "desayuno": "breakfast", "almuerzo": "lunch", "cena": "dinner",
    "entrenamiento": "workout",
    # hydration and supplements
    "litros": "liters", "litro": "liter", "vasos": "glasses", "agua": "water", "cada": "every",
    "recuerdame": "remind me", "suplementos": "supplements", "tomo": "i take", "creatina": "creatine",
    "no me interesa": "not interested", "no me interesan": "not interested", "me interesa": "i'm interested",
    "me interesan": "i'm interested",
    # more of each step's everyday words
    "no gracias": "no thanks", "gracias": "thanks", "genial": "great", "me vale": "fine", "correcto": "correct",
    "todo correcto": "all correct", "todo bien": "all good", "muy bien": "very good", "bien": "good",
    "no quiero": "i don't want", "me gustaria": "i would like", "prefiero": "i prefer", "nunca": "never",
    "a veces": "sometimes", "siempre": "always", "solo": "only", "sobre todo": "mainly",
    "principalmente": "mainly", "en segundo lugar": "secondly", "ganar fuerza": "get stronger",
    "tonificar": "tone up", "definir": "lose fat", "perder unos kilos": "lose weight", "mantenerme": "maintain",
    "kilos": "kg", "natacion": "swimming", "futbol": "football", "baloncesto": "basketball", "ciclismo": "cycling",
    "tenis": "tennis", "boxeo": "boxing", "escalada": "climbing", "senderismo": "hiking", "andar": "walking",
    "barra de dominadas": "pull-up bar", "dominadas": "pull-ups", "pesa rusa": "kettlebell", "comba": "jump rope",
    "cinta de correr": "treadmill", "bicicleta estatica": "stationary bike", "rodillo": "foam roller",
    "discos": "plates", "gimnasio en casa": "home gym", "hombros": "shoulders", "tobillos": "ankles",
    "munecas": "wrists", "caderas": "hips", "codo": "elbow", "codos": "elbows", "lumbares": "lower back",
    "lumbar": "lower back", "cervicales": "neck", "hernia discal": "herniated disc", "esguince": "sprain",
    "rotura": "tear", "me operaron": "i had surgery", "operacion": "surgery", "lesionado": "injured",
    "lesionada": "injured", "me lesione": "i injured", "diabetico": "diabetic", "diabetica": "diabetic",
    "tension alta": "high blood pressure", "presion alta": "high blood pressure", "hipertension": "hypertension",
    "embarazada": "pregnant", "artrosis": "arthritis", "no puedo": "i can't", "saltar": "jumping",
    "alergico al": "allergic to", "alergica al": "allergic to", "alergia al": "allergic to",
    "intolerante al": "intolerant to", "frutos secos": "tree nuts", "nueces": "nuts", "huevos": "eggs",
    "huevo": "egg", "leche": "milk", "queso": "cheese", "pollo": "chicken", "cerdo": "pork",
    "verduras": "vegetables", "fruta": "fruit", "picante": "spicy", "cebolla": "onion", "ajo": "garlic",
    "tomate": "tomato", "atun": "tuna", "brocoli": "broccoli", "no como": "i don't eat", "merienda": "snack",
    "en punto": "o'clock", "batido de proteinas": "protein shake", "proteina en polvo": "protein powder",
    "vitaminas": "vitamins", "magnesio": "magnesium", "diario": "daily", "diarios": "daily",
    "nada de": "no", "derecho": "right", "derecha": "right", "izquierdo": "left", "izquierda": "left",
    "menos": "except", "no mejor": "actually", "mejor dicho": "actually", "perdon": "sorry", "digo": "i mean",
    "quiero decir": "i mean",
    # small words
    "y": "and", "ni": "nor", "que": "that", "o": "or", "con": "with", "mi": "my", "pero": "but", "excepto": "except",
    "salvo": "except",
    "soy": "i'm", "estoy": "i'm", "el": "the", "la": "the", "los": "the", "las": "the", "en": "in", "de": "of",
    "un": "a", "una": "a", "unos": "some", "unas": "some", "algunos": "some", "algunas": "some",
    "muy": "very", "mas": "more", "para": "for", "como": "i eat",
}
# fmt: on
_FUNCTION_WORDS = _words("y ni que o con mi pero el la los las en de un una unos unas muy mas para como")
# Words that are also English ("material", "principal", "sin", "soy") do not make a message Spanish.
_SPANISH_MARKERS = (
    frozenset(word for phrase in _SPANISH for word in phrase.split())
    - _FUNCTION_WORDS
    - {"no", "material", "principal", "sin", "a", "me", "dolor", "soy", "mi", "dos", "uno", "vale", "peso", "nada"}
    - {"cena", "salud", "banco", "barra", "tomo", "parque", "fuera", "casa", "bici", "hora", "claro", "mas", "muy"}
    - {"solo", "hernia", "operacion", "tension", "presion", "kilos", "diario", "bien", "andar", "comba", "ajo"}
)
_SPANISH_RE = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, _SPANISH), key=len, reverse=True)) + r")\b")
_DIAS = r"(lunes|martes|miercoles|jueves|viernes|sabados?|domingos?)"
# "de lunes a viernes": a range of weekdays.
_SPANISH_DAY_RANGE_RE = re.compile(rf"\b(?:de|desde)\s+(?:el\s+)?{_DIAS}\s+(?:a|al|hasta(?:\s+el)?)\s+{_DIAS}\b")
# "dos litros y medio", "una hora y media": and a half, after a unit.
_SPANISH_HALF_RE = re.compile(r"\b([0-9]{1,4})\s+(litros?|horas?|kilos?|kg)\s+y\s+medi[oa]\b")
# "7 y media" / "7 y cuarto": half and quarter past, before "y" becomes "and".
_SPANISH_CLOCK_RE = re.compile(r"\b([0-9]{1,2})\s+y\s+(media|cuarto)\b")
_TOKEN_RE = re.compile(r"[a-z]+")
# alpha2digit leaves "dos" and "uno" alone; "un"/"una" are articles ("una hora" is in the table).
_SPANISH_SMALL = {"uno": "1", "dos": "2"}
_SPANISH_SMALL_RE = re.compile(r"\b(?:uno|dos)\b")


def strip_accents(text: str) -> str:
    """ "días" -> "dias": Spanish is matched without accents, as people often type it."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).replace("\u00bf", " ")


def looks_spanish(text: str) -> bool:
    """At least one Spanish content word that is not also English ("sí", "gimnasio", "alergias")."""
    tokens = _TOKEN_RE.findall(text)
    return any(token in _SPANISH_MARKERS for token in tokens)


def from_spanish(text: str) -> str:
    """A Spanish message (accents already removed) in the English the extractors read."""
    text = _SPANISH_SMALL_RE.sub(lambda match: _SPANISH_SMALL[match.group()], numbers_to_digits(text, "es"))
    text = _SPANISH_DAY_RANGE_RE.sub(r"\1 to \2", text)
    text = _SPANISH_HALF_RE.sub(lambda match: f"{match.group(1)}.5 {match.group(2)}", text)
    text = _SPANISH_CLOCK_RE.sub(lambda match: f"{match.group(1)}:{'30' if match.group(2) == 'media' else '15'}", text)
    return _SPANISH_RE.sub(lambda match: _SPANISH[match.group()], text)
