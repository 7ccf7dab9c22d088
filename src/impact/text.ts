/**
 * Text handling shared by the scorer, the text models and the training script. The model sees
 * exactly what `normalizeForModel` produces at training time and at prediction time.
 */

export const DEFAULT_MAX_TEXT_CHARS = 2000;
/** Deeper nesting than this is not read for text (the schema stage already bounds depth). */
const MAX_TEXT_DEPTH = 8;

/**
 * The string leaves of `content` and then `payload`, joined by spaces, cut at `maxChars`.
 * Object keys are not included; numbers and booleans are not text. No JSON.stringify: one
 * bounded walk that stops as soon as the budget is spent.
 */
export function extractText(
  content: Readonly<Record<string, unknown>>,
  payload: Readonly<Record<string, unknown>> | undefined,
  maxChars: number = DEFAULT_MAX_TEXT_CHARS,
): string {
  // One state for every call (the walk is synchronous and does not re-enter): no object per message.
  const state = sharedState;
  state.text = '';
  state.budget = maxChars;
  collect(content, state, 0);
  if (payload !== undefined && state.budget > 0) collect(payload, state, 0);
  const text = state.text;
  state.text = '';
  return text;
}

interface TextState {
  text: string;
  budget: number;
}

const sharedState: TextState = { text: '', budget: 0 };

function collect(value: unknown, state: TextState, depth: number): void {
  if (state.budget <= 0) return;
  if (typeof value === 'string') {
    if (value.length === 0) return;
    const needsSpace = state.text.length > 0;
    const room = needsSpace ? state.budget - 1 : state.budget;
    if (room <= 0) {
      state.budget = 0;
      return;
    }
    const piece = value.length > room ? value.slice(0, room) : value;
    state.text = needsSpace ? state.text + ' ' + piece : piece;
    state.budget = room - piece.length;
    return;
  }
  if (value === null || typeof value !== 'object' || depth >= MAX_TEXT_DEPTH) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length && state.budget > 0; i++) collect(value[i], state, depth + 1);
    return;
  }
  for (const key in value as Record<string, unknown>) {
    if (state.budget <= 0) return;
    collect((value as Record<string, unknown>)[key], state, depth + 1);
  }
}

// A currency amount: symbol or code before, or a code/word after. "48k", "1.2m" are understood.
export const MONEY_PATTERN =
  /(?:[$€£]\s?|\b(?:usd|eur|gbp|chf)\s?)(\d[\d,]*(?:\.\d+)?)\s?(k|m|bn|million|thousand)?\b|\b(\d[\d,]*(?:\.\d+)?)\s?(k|m|million|thousand)?\s?(?:usd|eur|gbp|chf|dollars|euros|pounds)\b/g;
const OTHER_NUMBER_PATTERN = /\d+/g;
// ASCII punctuation and whitespace only: non-ASCII characters are kept as word characters,
// which avoids a slower Unicode-aware pattern on every message.
const NON_WORD_PATTERN = /[^a-z0-9_\u0080-\uffff]+/g;
const HAS_DIGIT = /\d/;

function moneyToken(_match: string, a1?: string, s1?: string, a2?: string, s2?: string): string {
  const digits = (a1 ?? a2 ?? '0').replace(/,/g, '');
  const suffix = s1 ?? s2;
  let amount = Number.parseFloat(digits);
  if (suffix === 'k' || suffix === 'thousand') amount *= 1_000;
  else if (suffix === 'm' || suffix === 'million') amount *= 1_000_000;
  else if (suffix === 'bn') amount *= 1_000_000_000;
  // Order of magnitude rather than the number: the model learns "a five-figure sum", not "48000".
  if (!(amount >= 100)) return ' money_tiny ';
  if (amount < 1_000) return ' money_hundreds ';
  if (amount < 10_000) return ' money_thousands ';
  if (amount < 100_000) return ' money_tens_of_thousands ';
  return ' money_large ';
}

/**
 * Lower-case, amounts replaced by magnitude tokens, other digit runs by `num`, punctuation by
 * spaces. fastText splits on whitespace, so runs of spaces are harmless.
 */
export function normalizeForModel(text: string): string {
  return lowerCaseAndTokenizeNumbers(text).replace(NON_WORD_PATTERN, ' ');
}

/**
 * The first steps of `normalizeForModel`, without the last (every run of ASCII characters other
 * than a-z, 0-9 and _ becomes one space): `FastTextJsModel` does that step as it tokenises.
 */
export function lowerCaseAndTokenizeNumbers(text: string): string {
  const out = text.toLowerCase();
  return HAS_DIGIT.test(out) ? out.replace(MONEY_PATTERN, moneyToken).replace(OTHER_NUMBER_PATTERN, ' num ') : out;
}
