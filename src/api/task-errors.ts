/**
 * The two answers to a task argument that does not name one instance, as the
 * agent and tendctl both word them: not found (with "did you mean"), and
 * ambiguous (the instances, to name one).
 */

/** `task "web[0]" not found; did you mean "web/frontend[0]/server"?` */
export function notFoundMessage(query: string, suggestions: string[]): string {
  if (!suggestions.length) return `task "${query}" not found (tendctl status lists the tasks)`;
  const quoted = suggestions.map((s) => `"${s}"`);
  return `task "${query}" not found; did you mean ${quoted.length === 1 ? quoted[0] : `one of ${quoted.join(', ')}`}?`;
}

/** `task "web" matches 2 instances; name one:` and the instances, at most 20, one a line. */
export function ambiguousMessage(query: string, matches: string[]): string {
  const shown = matches.slice(0, 20);
  const more = matches.length > shown.length ? `\n  … and ${matches.length - shown.length} more` : '';
  return `task "${query}" matches ${matches.length} instances; name one:\n${shown.map((m) => `  ${m}`).join('\n')}${more}`;
}
