/**
 * Splits SQL text on commas outside brackets: `brackets` lists the opening and closing characters in
 * pairs, e.g. `()` for a column list, `()<>` for Flink types such as `MAP<STRING, INT>`.
 */
export function splitTopLevel(text: string, brackets = '()'): string[] {
  const opening = new Set(brackets.split('').filter((_, i) => i % 2 === 0));
  const closing = new Set(brackets.split('').filter((_, i) => i % 2 === 1));
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of text) {
    if (opening.has(c)) depth++;
    if (closing.has(c)) depth--;
    if (c === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
    } else current += c;
  }
  if (current.trim() !== '') parts.push(current.trim());
  return parts;
}
