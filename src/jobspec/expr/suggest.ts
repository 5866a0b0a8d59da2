// Placeholder until the evaluator lands.
/** The closest candidate by edit distance when close enough to be a likely typo, else undefined. */
export function suggest(_word: string, _candidates: Iterable<string>): string | undefined {
  return undefined;
}
