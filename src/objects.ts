/**
 * Copies of plain objects that V8 gives shared hidden classes.
 *
 * On Node 20 (V8 11.3) an object made with spread syntax gets a hidden class of its own as soon as
 * a property it did not copy is added to it, in the literal after the spread (`{ ...e, seq }`) or
 * later (`const r = { ...e }; r.x = 1`): measured 2,000 such objects, 2,000 classes. Each costs
 * ~100–300 bytes (the class and its descriptors) and leaves the code that reads them megamorphic.
 * With 1,000 tasks that was ~10,000 classes, ~6 MiB of the agent's heap (issue 14: events, rollout
 * records and deployments, groups). Object.assign builds the copy through the shared transitions.
 * Use these where such objects live long or come by the thousand; a spread that only overrides
 * properties the source has is fine.
 */

/** `{ ...base, ...extra }`, with a shared hidden class. */
export function merged<T extends object, U extends object>(base: T, extra: U): Omit<T, keyof U> & U {
  return Object.assign({}, base, extra);
}

/** `{ ...o }`, which may get properties added later, with a shared hidden class. */
export function copied<T extends object>(o: T): T {
  return Object.assign({}, o);
}
