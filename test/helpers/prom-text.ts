/**
 * A strict parser of the Prometheus text exposition format (0.0.4), as node_exporter's textfile
 * collector reads it: it throws on anything the format does not allow (a bad name, an unknown
 * escape, a TYPE after the family's samples, a family split in two, a series twice, no final
 * newline), so a test that parses a metrics file proves the collector would take it.
 * Written here rather than added as a devDependency: it is small, needs nothing, and its
 * strictness, which the tests rely on, is itself tested (test/unit/metrics-file.test.ts feeds it
 * malformed text that it must refuse).
 */

export interface PromSample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

export interface PromFamily {
  readonly name: string;
  help?: string;
  type?: string;
  readonly samples: PromSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parsePromText(text: string): Map<string, PromFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the text does not end with a line feed');
  const families = new Map<string, PromFamily>();
  const seriesSeen = new Set<string>();
  let current: string | undefined;
  const lines = text.split('\n').slice(0, -1);
  lines.forEach((line, i) => {
    const where = `line ${i + 1} (${JSON.stringify(line)})`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const match = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!match) return; // a plain comment
      const [, keyword, name, rest = ''] = match;
      if (!NAME.test(name)) throw new Error(`${where}: bad metric name`);
      const family = open(name, where);
      if (keyword === 'HELP') {
        if (family.help !== undefined) throw new Error(`${where}: second HELP for ${name}`);
        family.help = unescape(rest, false, where);
      } else {
        if (family.type !== undefined) throw new Error(`${where}: second TYPE for ${name}`);
        if (family.samples.length > 0) throw new Error(`${where}: TYPE after samples of ${name}`);
        if (!TYPES.has(rest.trim())) throw new Error(`${where}: unknown type ${rest}`);
        family.type = rest.trim();
      }
      return;
    }
    const sample = parseSample(line, where);
    const family = open(sample.name, where);
    const key = `${sample.name}{${Object.entries(sample.labels).sort().map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
    if (seriesSeen.has(key)) throw new Error(`${where}: series ${key} appears twice`);
    seriesSeen.add(key);
    family.samples.push(sample);
  });
  return families;

  function open(name: string, where: string): PromFamily {
    let family = families.get(name);
    if (family && current !== name) throw new Error(`${where}: family ${name} continues after another family began`);
    if (!family) families.set(name, (family = { name, samples: [] }));
    current = name;
    return family;
  }
}

function parseSample(line: string, where: string): PromSample {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) throw new Error(`${where}: no metric name`);
  const name = nameMatch[0];
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    for (;;) {
      if (rest.startsWith('}')) { rest = rest.slice(1); break; }
      const labelMatch = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(rest);
      if (!labelMatch || !LABEL_NAME.test(labelMatch[1])) throw new Error(`${where}: bad label`);
      const labelName = labelMatch[1];
      if (labelName in labels) throw new Error(`${where}: label ${labelName} twice`);
      rest = rest.slice(labelMatch[0].length);
      let value = '';
      for (;;) {
        if (rest.length === 0) throw new Error(`${where}: unterminated label value`);
        const c = rest[0];
        if (c === '"') { rest = rest.slice(1); break; }
        if (c === '\n') throw new Error(`${where}: raw line feed in a label value`);
        if (c === '\\') {
          const next = rest[1];
          if (next === '\\') value += '\\';
          else if (next === '"') value += '"';
          else if (next === 'n') value += '\n';
          else throw new Error(`${where}: unknown escape \\${next ?? ''} in a label value`);
          rest = rest.slice(2);
          continue;
        }
        value += c;
        rest = rest.slice(1);
      }
      labels[labelName] = value;
      if (rest.startsWith(',')) rest = rest.slice(1);
      else if (!rest.startsWith('}')) throw new Error(`${where}: expected , or } after a label`);
    }
  }
  const valueMatch = /^ (\S+)(?: (-?\d+))?$/.exec(rest);
  if (!valueMatch) throw new Error(`${where}: expected one space, a value and an optional timestamp`);
  return { name, labels, value: parseValue(valueMatch[1], where) };
}

function parseValue(text: string, where: string): number {
  if (text === 'NaN') return Number.NaN;
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`${where}: bad value ${text}`);
  return Number(text);
}

function unescape(text: string, quotes: boolean, where: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    if (quotes && c === '"') return '"';
    throw new Error(`${where}: unknown escape \\${c}`);
  });
}
