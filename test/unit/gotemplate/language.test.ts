// Go's text/template constructs, as its documentation (pkg.go.dev/text/template) describes them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TemplateError } from '../../../src/gotemplate/gotemplate.js';
import { parseTemplate, render } from '../../../src/gotemplate/template.js';
import { fails, run } from './helpers.js';

const json = (s: string) => `(parseJSON \`${s}\`)`;

test('text: text outside actions is copied unchanged', () => {
  assert.equal(run('plain {text}\n  with } braces {\n'), 'plain {text}\n  with } braces {\n');
});

test('trim markers: {{- trims the whitespace before, -}} the whitespace after, newlines included', () => {
  assert.equal(run('a  \n\t {{- "b" -}} \n\n  c'), 'abc');
  assert.equal(run('{{23 -}} < {{- 45}}'), '23<45');
  assert.equal(run('a {{- /* gone */ -}} b'), 'ab');
});

test('trim markers: "{{-3}}" is the number -3, not a trim marker', () => {
  assert.equal(run('x {{-3}}'), 'x -3');
});

test('comments: {{/* */}} output nothing and may span lines; a comment must close before the delimiter', () => {
  assert.equal(run('a{{/* one\ntwo */}}b'), 'ab');
  fails('{{/* x */ .}}', 'template: t:1:1: comment ends before closing delimiter');
  fails('{{/* x ', 'template: t:1:1: unclosed comment');
});

test('actions: strings, raw strings, numbers, chars, bools, and nil as an argument', () => {
  assert.equal(run('{{"a\\tb"}}|{{`raw\\n`}}|{{42}}|{{0x1F}}|{{0o17}}|{{1_000}}|{{1.5}}|{{1e3}}|{{\'a\'}}|{{true}}'), 'a\tb|raw\\n|42|31|15|1000|1.5|1000|97|true');
  assert.equal(run('{{printf "%v" nil}}'), '<nil>');
  fails('{{nil}}', 'template: t:1:3: executing "t" at <nil>: nil is not a command');
});

test('pipelines: the result of each command is the last argument of the next', () => {
  assert.equal(run('{{"%d-%s" | printf | printf "[%s]"}}'), '[%!d(MISSING)-%!s(MISSING)]');
  assert.equal(run('{{ 3 | printf "%d %d" 2 }}'), '2 3');
  assert.equal(run('{{ "a,b" | split "," | join "+" | toUpper }}'), 'A+B');
});

test('pipelines: parenthesized pipelines group', () => {
  assert.equal(run('{{ printf "%s-%s" (print "a") ("b" | toUpper) }}'), 'a-B');
});

test('pipelines: only the first command may be a constant', () => {
  fails('{{ "a" | "b" }}', 'template: t:1:10: non executable command in pipeline stage 2');
  fails('{{ 1 2 }}', 'template: t:1:4: executing "t" at <1>: can\'t give argument to non-function 1');
});

test('variables: := declares, = assigns, $ is the initial dot; scope ends at the enclosing {{end}}', () => {
  assert.equal(run('{{$x := 1}}{{if true}}{{$x = 2}}{{$y := 3}}{{end}}{{$x}}'), '2');
  assert.equal(run('{{$x := "out"}}{{with "in"}}{{$x := .}}{{$x}}{{end}}-{{$x}}'), 'in-out');
  fails('{{if true}}{{$y := 3}}{{end}}{{$y}}', 'template: t:1:32: undefined variable "$y"');
  assert.equal(run('{{with 5}}{{$}}|{{.}}{{end}}'), '<no value>|5');
});

test('variables: a declaration prints nothing', () => {
  assert.equal(run('a{{$x := "hidden"}}b'), 'ab');
});

test('if: else and else if chains share one {{end}}', () => {
  const t = '{{if eq . 1}}one{{else if eq . 2}}two{{else}}many{{end}}';
  assert.equal(run(`{{template "x" 1}}{{template "x" 2}}{{template "x" 3}}{{define "x"}}${t}{{end}}`), 'onetwomany');
});

test("if: Go's truth: false, 0, nil, empty string, slice and map are false; structs are true", () => {
  const cases = ['false', '0', '0.0', '""', json('[]'), json('{}'), '.missing'];
  for (const c of cases) assert.equal(run(`{{if ${c}}}T{{else}}F{{end}}`), 'F', c);
  for (const c of ['true', '1', '-1', '0.5', '" "', json('[0]'), json('{"a":null}')]) assert.equal(run(`{{if ${c}}}T{{else}}F{{end}}`), 'T', c);
});

test('with: sets dot to the value when it is true, else runs the else branch; else with chains', () => {
  assert.equal(run('{{with "x"}}[{{.}}]{{end}}{{with ""}}no{{else}}empty{{end}}'), '[x]empty');
  assert.equal(run('{{with ""}}a{{else with "b"}}{{.}}{{else}}c{{end}}'), 'b');
});

test('range: over a list sets dot to each element; $i, $e := gives index and element', () => {
  assert.equal(run(`{{range ${json('["a","b"]')}}}<{{.}}>{{end}}`), '<a><b>');
  assert.equal(run(`{{range $i, $e := ${json('["a","b"]')}}}{{$i}}={{$e}} {{end}}`), '0=a 1=b ');
  assert.equal(run(`{{range $e := ${json('["a","b"]')}}}{{$e}}{{end}}`), 'ab');
});

test('range: over a map visits keys in sorted order', () => {
  assert.equal(run(`{{range $k, $v := ${json('{"b":2,"a":1,"c":3,"B":0}')}}}{{$k}}{{$v}} {{end}}`), 'B0 a1 b2 c3 ');
});

test('range: {{else}} runs when there is nothing to iterate, nil included', () => {
  assert.equal(run(`{{range ${json('[]')}}}x{{else}}none{{end}}|{{range .missing}}x{{else}}nil{{end}}`), 'none|nil');
});

test('range: over an integer counts from 0 (Go 1.22)', () => {
  assert.equal(run('{{range 3}}{{.}}{{end}}|{{range $i := 2}}{{$i}}{{end}}'), '012|01');
});

test('range: {{break}} and {{continue}}', () => {
  assert.equal(run('{{range $i := loop 10}}{{if eq $i 2}}{{continue}}{{end}}{{if eq $i 4}}{{break}}{{end}}{{$i}}{{end}}'), '013');
  fails('{{break}}', 'template: t:1:3: {{break}} outside {{range}}');
});

test('range: a value that cannot be iterated is an error', () => {
  fails('{{range "abc"}}{{end}}', 'template: t:1:1: executing "t" at <{{range "abc"}}{{end...>: range can\'t iterate over abc');
});

test('define and template: named templates are invoked with a new dot and their own variables', () => {
  assert.equal(run('{{define "T"}}<{{.}}>{{end}}{{template "T" "x"}}{{template "T"}}'), '<x><<no value>>');
  assert.equal(run('{{$v := 1}}{{define "T"}}{{$}}{{end}}{{template "T" 7}}'), '7');
  fails('{{template "nope"}}', 'template: t:1:1: executing "t" at <{{template "nope"}}>: template "nope" not defined');
  fails('{{define "a"}}1{{end}}{{define "a"}}2{{end}}', /multiple definition of template "a"/);
});

test('block: defines a template and executes it in place', () => {
  assert.equal(run('[{{block "B" "dot"}}in {{.}}{{end}}]{{template "B" "again"}}'), '[in dot]in again');
});

test('recursion: a template may call itself; runaway recursion is an error, not a crash', () => {
  assert.equal(run('{{define "c"}}{{if gt . 0}}{{.}}{{template "c" (subtract 1 .)}}{{end}}{{end}}{{template "c" 3}}'), '321');
  fails('{{define "r"}}{{template "r"}}{{end}}{{template "r"}}', /exceeded maximum template depth/);
});

test('fields: .a.b on maps; chained on variables and parenthesized pipelines', () => {
  const m = json('{"a":{"b":"deep"},"l":["x"]}');
  assert.equal(run(`{{with ${m}}}{{.a.b}}|{{$m := .}}{{$m.a.b}}|{{(index .l 0)}}{{end}}|{{${m}.a.b}}`), 'deep|deep|x|deep');
});

test('fields: a field of a non-map is an error', () => {
  fails('{{$x := "s"}}{{$x.foo}}', 'template: t:1:16: executing "t" at <$x.foo>: can\'t evaluate field foo in type string');
});

test("missing keys: Nomad's default prints <no value>; a field of the missing value is a nil-pointer error", () => {
  assert.equal(run(`{{${json('{}')}.port}}`), '<no value>');
  fails(`{{${json('{}')}.a.b}}`, /nil pointer evaluating interface \{\}\.b/);
});

test('missing keys: errorOnMissingKey makes a missing map key an error naming the key', () => {
  fails(`{{with ${json('{"a":1}')}}}{{.port}}{{end}}`, 'template: t:1:33: executing "t" at <.port>: map has no entry for key "port"', { errorOnMissingKey: true });
  fails('{{.port}}', 'template: t:1:3: executing "t" at <.port>: nil data; no entry for key "port"', { errorOnMissingKey: true });
});

test('comparison: eq with several arguments is true when the first equals any other', () => {
  assert.equal(run('{{eq 2 1 2}} {{eq "a" "b"}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1.5 2.5}}'), 'true false true true true true false');
});

test('comparison: values of different kinds are an error; nil equals only nil', () => {
  fails('{{eq 1 "1"}}', 'template: t:1:3: executing "t" at <eq 1 "1">: error calling eq: incompatible types for comparison');
  fails('{{lt true false}}', /error calling lt: invalid type for comparison/);
  assert.equal(run('{{eq .missing "x"}}'), 'false');
});

test('logic: and/or return the deciding argument and stop evaluating there; not negates', () => {
  assert.equal(run('{{and 1 0 (fail)}}|{{or 0 "" "x" (fail)}}|{{and 1 2}}|{{or 0 ""}}|{{not ""}}'.replaceAll('(fail)', '(index 1 1)')), '0|x|2||true');
});

test('printf: Go verbs, flags, width and precision', () => {
  const cases: Array<[string, string]> = [
    ['"%s|%q|%v" "a" "b\\n" "c"', 'a|"b\\n"|c'],
    ['"%d|%5d|%-5d|%05d|%+d|%x|%X|%o|%b|%#x" 1 2 3 4 5 255 255 8 5 255', '1|    2|3    |00004|+5|ff|FF|10|101|0xff'],
    ['"%f|%.2f|%5.1f|%e|%g|%G" 3.14159 3.14159 3.14159 1234.5678 0.000012345 1e21', '3.141590|3.14|  3.1|1.234568e+03|1.2345e-05|1E+21'],
    ['"%-10s|%10s|%.2s" "left" "right" "truncate"', 'left      |     right|tr'],
    ['"%t|%v|%c|%U|%%" true false 65 65', 'true|false|A|U+0041|%'],
    ['"%x|% x|%X" "hi" "hi" "hi"', '6869|68 69|6869'],
    ['"%v|%s|%d" (parseJSON `[1,"a"]`) (split "," "x,y") (parseJSON `{"k":1}`)', '[1 a]|[x y]|map[%!d(string=k):%!d(float64=1)]'],
    ['"%d|%s" "str" 5', '%!d(string=str)|%!s(int=5)'],
    ['"%d"', '%!d(MISSING)'],
    ['"x" 1', 'x%!(EXTRA int=1)'],
    ['"%T %T %T %T" 1 1.5 "s" true', 'int float64 string bool'],
    ['"%*d|%-*d|" 4 7 3 8', '   7|8  |'],
  ];
  for (const [args, want] of cases) assert.equal(run(`{{printf ${args}}}`), want, args);
});

test('print and println: spaces between operands that are not strings; println always spaces and ends the line', () => {
  assert.equal(run('{{print 1 2 "a" "b" 3}}|{{println 1 "a" 2}}'), '1 2ab3|1 a 2\n');
});

test('printing: floats as Go prints them (%v): exponent from 1e+06', () => {
  assert.equal(run(`{{with ${json('{"a":8080,"b":1000000,"c":0.5,"d":123456789,"e":1e-7}')}}}{{.a}} {{.b}} {{.c}} {{.d}} {{.e}}{{end}}`), '8080 1e+06 0.5 1.23456789e+08 1e-07');
});

test('index: lists, maps and strings (bytes); several indexes walk down', () => {
  const m = json('{"a":{"b":["x","y"]}}');
  assert.equal(run(`{{index ${m} "a" "b" 1}}|{{index "abc" 0}}|{{index ${json('{"k":1}')} "nope"}}`), 'y|97|<no value>');
  fails(`{{index ${json('[1]')} 5}}`, /error calling index: index out of range: 5/);
  fails(`{{index ${json('[1]')} "a"}}`, /error calling index: cannot index slice\/array with type string/);
  fails('{{index 3 1}}', /error calling index: can't index item of type int/);
});

test('len: bytes of a string, elements of a list or map', () => {
  assert.equal(run(`{{len "héllo"}} {{len ${json('[1,2]')}}} {{len ${json('{"a":1}')}}}`), '6 2 1');
  fails('{{len 3}}', /error calling len: len of type int/);
});

test('slice: strings by bytes, lists; bad bounds are errors', () => {
  assert.equal(run(`{{slice "abcdef" 1 3}}|{{slice "abc" 1}}|{{slice ${json('[1,2,3]')} 1 2}}|{{slice "abc"}}`), 'bc|bc|[2]|abc');
  fails('{{slice "abc" 2 1}}', /error calling slice: invalid slice index: 2 > 1/);
  fails('{{slice "abc" 1 2 3}}', /cannot 3-index slice a string/);
});

test('html, js, urlquery: escape their argument', () => {
  assert.equal(run(`{{html "<a href='x'>&</a>"}}`), '&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;');
  assert.equal(run(`{{js "it's \\"<b>\\" = x"}}`), "it\\'s \\\"\\u003Cb\\u003E\\\" \\u003D x");
  assert.equal(run('{{urlquery "a b&c=d/é"}}'), 'a+b%26c%3Dd%2F%C3%A9');
});

test('functions: a wrong number of arguments is reported as Go does', () => {
  fails('{{len 1 2}}', 'template: t:1:3: executing "t" at <len 1 2>: wrong number of args for len: want 1 got 2');
  fails('{{printf}}', /wrong number of args for printf: want at least 1 got 0/);
});

test('parse errors: Go messages with line:col', () => {
  fails('line1\n{{ foo }}', 'template: t:2:4: function "foo" not defined');
  fails('{{if true}}x', 'template: t:1:13: unexpected EOF');
  fails('{{end}}', 'template: t:1:3: unexpected {{end}}');
  fails('{{ .a', 'template: t:1:6: unclosed action');
  fails('{{ "abc }}', 'template: t:1:4: unterminated quoted string');
  fails('{{ $x }}', 'template: t:1:4: undefined variable "$x"');
  fails('{{ 3x }}', 'template: t:1:4: bad number syntax: "3x"');
  fails('{{ (1 }}', 'template: t:1:7: unclosed left paren');
  fails('{{ else }}', 'template: t:1:4: unexpected {{else}}');
  fails('{{ range $a, $b, $c := . }}{{end}}', /too many declarations in range|range can only initialize variables/);
  fails('{{ if }}{{ end }}', 'template: t:1:7: missing value for if');
  fails('{{ 1 | ! }}', /unexpected "!" in command/);
});

test('positions: baseLine moves lines into the enclosing job file; the column counts from 1', () => {
  const err = (() => {
    try {
      render(parseTemplate('a\nb {{ .x.y }}', { name: 'jobs/web.hcl', baseLine: 40 }), { errorOnMissingKey: true });
    } catch (e) {
      return e as TemplateError;
    }
  })();
  assert.ok(err instanceof TemplateError);
  assert.equal(err.message, 'template: jobs/web.hcl:41:6: executing "jobs/web.hcl" at <.x.y>: nil data; no entry for key "x"');
  assert.deepEqual([err.kind, err.template, err.line, err.col], ['exec', 'jobs/web.hcl', 41, 6]);
});

test('delimiters: custom left and right delimiters, as Nomad\'s left_delimiter/right_delimiter', () => {
  const t = parseTemplate('[[ "x" ]] {{ not an action }} [[- " y" -]]  !', { leftDelim: '[[', rightDelim: ']]' });
  assert.equal(render(t).text, 'x {{ not an action }} y!');
});

test('errors inside a define name the executing template', () => {
  fails('{{define "inner"}}{{len 3}}{{end}}{{template "inner"}}', /executing "inner" at <len 3>: error calling len: len of type int/);
});
