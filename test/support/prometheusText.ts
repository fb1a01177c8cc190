// Reading /metrics in tests. prom-client writes the Prometheus text format but has no reader,
// and no installed package parses it; the format's sample lines are simple enough to read here:
// `name{label="value",...} number`, with \\, \" and \n escaped in label values.

/** One sample line of a scrape. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A scrape of one service: its samples, and the metric names it declares (`# TYPE` lines, present before any sample is). */
export interface Scrape {
  readonly samples: readonly Sample[];
  readonly declared: ReadonlySet<string>;
  /** Sum of the samples named `name` whose labels include `labels`. */
  sum(name: string, labels?: Readonly<Record<string, string>>): number;
  /** The distinct values of `label` among the samples named `name`. */
  labelValues(name: string, label: string): Set<string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheusText(text: string): Scrape {
  const samples: Sample[] = [];
  const declared = new Set<string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) declared.add(line.split(' ')[2]!);
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`Not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(LABEL)) labels[name!] = value!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  const matching = (name: string, labels: Readonly<Record<string, string>>) =>
    samples.filter((sample) => sample.name === name && Object.entries(labels).every(([label, value]) => sample.labels[label] === value));
  return {
    samples,
    declared,
    sum: (name, labels = {}) => matching(name, labels).reduce((total, sample) => total + sample.value, 0),
    labelValues: (name, label) => new Set(matching(name, {}).flatMap((sample) => (sample.labels[label] === undefined ? [] : [sample.labels[label]!]))),
  };
}

/** GETs `${baseUrl}/metrics` (with `token` as a bearer credential when given) and parses it; fails unless answered 200 in the Prometheus text format. */
export async function scrapeMetrics(baseUrl: string, token?: string): Promise<Scrape> {
  const response = await fetch(`${baseUrl}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${baseUrl}/metrics answered ${response.status}: ${text}`);
  if (!response.headers.get('content-type')?.startsWith('text/plain; version=0.0.4')) throw new Error(`${baseUrl}/metrics answered ${response.headers.get('content-type')}`);
  return parsePrometheusText(text);
}
