/**
 * A template's text is parsed when the job file loads, so a syntax error, an unknown function
 * or a Consul/Vault function (which one node cannot serve) is reported at the file, line and
 * column of the template text, before anything runs. Syntax errors and unknown functions are
 * errors (the task could never start); Consul and Vault functions are `unsupported` warnings
 * (Nomad accepts the file; tend says the task will not start, and `validate -strict` refuses it).
 */
import { parseTemplate } from '../gotemplate/template.js';
import { TemplateError } from '../gotemplate/gotemplate.js';
import type { Template } from './model.js';
import { templateTarget } from '../templates/write.js';
import { pathText, type Reporter } from './diagnostics.js';
import type { PathStep } from './locate.js';

export function checkTemplateText(r: Reporter, steps: PathStep[], t: Template): void {
  // A destination without runtime references is checked now: it must stay inside the task's dirs.
  if (t.destination && !t.destination.includes('${')) {
    try {
      templateTarget(t.destination, { taskDir: '/t', allocDir: '/a' });
    } catch (err) {
      r.error('schema', steps, 'destination', err instanceof Error ? err.message.replace(/^template: destination: /, '') : String(err));
    }
  }
  if (!t.data) return;
  try {
    parseTemplate(t.data, { name: t.pos.file, baseLine: t.dataLine ?? t.pos.line, leftDelim: t.leftDelimiter, rightDelim: t.rightDelimiter });
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    const unsupported = err.kind === 'unsupported';
    r.at({
      severity: unsupported ? 'warning' : 'error',
      kind: unsupported ? 'unsupported' : 'schema',
      line: err.line,
      column: err.col,
      path: pathText(steps, 'data'),
      message: unsupported ? `template: ${err.reason}; the task will not start` : `template: ${err.reason}`,
    });
  }
}
