import assert from 'node:assert/strict';
import { TemplateError, type RenderContext } from '../../../src/gotemplate/gotemplate.js';
import { parseTemplate, render } from '../../../src/gotemplate/template.js';

/** Parses and renders `text` as template "t"; returns the output. */
export function run(text: string, ctx: RenderContext = {}): string {
  return render(parseTemplate(text, { name: 't' }), ctx).text;
}

/** Asserts that parsing or rendering `text` fails with exactly `message`. */
export function fails(text: string, message: string | RegExp, ctx: RenderContext = {}): TemplateError {
  let err: unknown;
  try {
    run(text, ctx);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof TemplateError, `expected a TemplateError for ${JSON.stringify(text)}, got ${String(err)}`);
  if (typeof message === 'string') assert.equal(err.message, message);
  else assert.match(err.message, message);
  return err;
}
