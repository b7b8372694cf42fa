/** The six NCRONTAB fields Azure Functions timers take, with their ranges and names. */
const Fields = [
  { name: "second", min: 0, max: 59 },
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day", min: 1, max: 31 },
  {
    name: "month",
    min: 1,
    max: 12,
    names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
  },
  { name: "day-of-week", min: 0, max: 6, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] },
] as const;

type Field = (typeof Fields)[number];

function value(field: Field, text: string): number | undefined {
  if (/^\d{1,2}$/.test(text)) return Number(text);
  const names: readonly string[] | undefined = "names" in field ? field.names : undefined;
  const i = names?.indexOf(text.toUpperCase()) ?? -1;
  return i >= 0 ? i + field.min : undefined;
}

/** One field: *, a, a-b, with an optional /step, comma-separated. Undefined when valid, else why not. */
function checkField(field: Field, text: string): string | undefined {
  for (const part of text.split(",")) {
    const m = part.match(/^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d{1,2}))?$/);
    if (!m) return `${field.name} field '${text}' is not *, a number, a range or a list`;
    const [, range = "", step] = m;
    if (step !== undefined && (Number(step) < 1 || Number(step) > field.max))
      return `${field.name} step '/${step}' is out of range`;
    if (range === "*") continue;
    const [from, to] = range.split("-").map((t) => value(field, t));
    const bad = [from, ...(range.includes("-") ? [to] : [])].some(
      (v) => v === undefined || v < field.min || v > field.max,
    );
    if (bad) return `${field.name} '${range}' is outside ${field.min}-${field.max}`;
    if (from !== undefined && to !== undefined && from > to)
      return `${field.name} range '${range}' runs backwards`;
  }
  return undefined;
}

/** The values a valid field selects. */
function values(field: Field, text: string): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const [range = "*", stepText] = part.split("/");
    const step = stepText ? Number(stepText) : 1;
    const [from, to] =
      range === "*"
        ? [field.min, field.max]
        : range.includes("-")
          ? (range.split("-").map((t) => value(field, t)) as [number, number])
          : [value(field, range) as number, stepText ? field.max : (value(field, range) as number)];
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

const DaysInMonth = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Undefined when `expr` is a valid six-field NCRONTAB expression that fires at least once a year, else what is wrong with it. */
export function ncrontabProblem(expr: string): string | undefined {
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== Fields.length)
    return `NCRONTAB needs six fields (second minute hour day month day-of-week), got ${parts.length}`;
  for (const [i, field] of Fields.entries()) {
    const problem = checkField(field, parts[i] as string);
    if (problem) return problem;
  }
  // With day-of-week unrestricted, some chosen day must exist in some chosen month (not 30 February).
  if (parts[5] === "*") {
    const days = values(Fields[3], parts[3] as string);
    const months = values(Fields[4], parts[4] as string);
    if (![...months].some((m) => [...days].some((d) => d <= (DaysInMonth[m - 1] ?? 31))))
      return `day '${parts[3]}' never occurs in month '${parts[4]}': the timer would never fire`;
  }
  return undefined;
}
