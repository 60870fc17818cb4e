// Calls the API through the types openapi-typescript generates from the schema (src/schema.d.ts, made at
// test time). `tsc --noEmit` must accept this file: if the schema loses a type (a step's data back to
// `unknown`, an enum to `string`), a line below stops compiling, or an `@ts-expect-error` stops being needed.
import type { components, operations, paths } from "./schema";

type Schemas = components["schemas"];
type ChatOperation = paths["/api/v1/onboarding/chat"]["post"];
type ChatBody = ChatOperation["requestBody"]["content"]["application/json"];
type ChatReply = ChatOperation["responses"][200]["content"]["application/json"];
type ChatHeaders = NonNullable<operations["onboarding_chat"]["parameters"]["header"]>;
type Progress = paths["/api/v1/onboarding/progress"]["get"]["responses"][200]["content"]["application/json"];
type State = Schemas["OnboardingState"];

// `any` would let every line below compile: the types this file relies on must not be it.
type IsAny<T> = 0 extends 1 & T ? true : false;
const notAny: [IsAny<ChatReply>, IsAny<State["step_data"]>, IsAny<Progress["next_step"]>] = [false, false, false];

/** A chat request as `fetch` sends it: the body and headers the schema documents, with an Idempotency-Key. */
export function chatRequest(access: string, message: string, step?: number): RequestInit {
  const body: ChatBody = step === undefined ? { message } : { message, step };
  const headers: ChatHeaders & Record<string, string> = {
    Authorization: `Bearer ${access}`,
    "Content-Type": "application/json",
    "Idempotency-Key": crypto.randomUUID(),
  };
  return { method: "POST", headers, body: JSON.stringify(body) };
}

/** What a client does with a chat reply: every `next_action` handled, checked exhaustively. */
export function nextScreen(reply: ChatReply): string {
  switch (reply.next_action) {
    case "continue":
      return reply.awaiting_confirmation ? "review" : `step ${reply.current_step}`;
    case "advance_step":
      return `step ${reply.next_step ?? reply.current_step} with ${reply.next_agent_type ?? "nobody"}`;
    case "complete_onboarding":
      return "home";
    default: {
      const unknownAction: never = reply.next_action;
      return unknownAction;
    }
  }
}

/** A step's saved data, read by its step number with its own field types. */
export function weeklySummary(state: State): string {
  const preferences = state.step_data["4"];
  const plan = state.step_data["5"]?.plan;
  const schedule = state.step_data["8"];
  const location: "home" | "gym" | "outdoor" | undefined = preferences?.location;
  const days: number[] = schedule?.workout_days ?? [];
  const minutes: number = plan?.sessions.reduce((total, session) => total + session.minutes, 0) ?? 0;
  // @ts-expect-error the weekdays are numbers, not names
  const names: string[] = schedule?.workout_days ?? [];
  return `${location ?? "?"}: ${days.length} days (${names.length}), ${minutes} minutes a week`;
}

/** The next step of the progress endpoint, narrowed by its name to the step's own suggestion. */
export function proposalSummary(progress: Progress): string {
  const next = progress.next_step;
  if (next === null) {
    return "all answered";
  }
  switch (next.name) {
    case "workout_plan":
      return next.suggestion.plan.sessions.map((session) => `${session.weekday}: ${session.focus}`).join(", ");
    case "meal_plan": {
      const { daily_calories, protein_pct, carbs_pct, fats_pct } = next.suggestion;
      return `${daily_calories} kcal (${protein_pct}/${carbs_pct}/${fats_pct})`;
    }
    case "fitness_level": {
      const nothing: null = next.suggestion;
      // @ts-expect-error a step without a proposal has no plan to read
      next.suggestion.plan;
      return `${next.title}: ${next.fields.required.join(", ")} ${String(nothing)}`;
    }
    default:
      return `${next.step}: ${next.title}`;
  }
}

// @ts-expect-error next_action has three values, and "finish" is not one of them
export const wrongAction: ChatReply["next_action"] = "finish";
export const checked = notAny;
