/**
 * The local stand-in for CloudWatch's storage: every datum the forwarder sent (captured at the
 * SDK boundary) plus the health metrics the local pollers observe, queryable the way alarms
 * and dashboard widgets query CloudWatch.
 */
export interface StoredDatum {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly timestamp: number;
  readonly value: number;
  readonly unit?: string;
}

export type Stat = "Sum" | "Average" | "Minimum" | "Maximum" | "SampleCount";

export interface Series {
  readonly dimensions: Readonly<Record<string, string>>;
  /** Period start (ms) → statistic. */
  readonly points: Map<number, number>;
}

const sameDimensions = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) => {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
};

export function statistic(values: readonly number[], stat: Stat): number {
  switch (stat) {
    case "Sum":
      return values.reduce((a, b) => a + b, 0);
    case "Average":
      return values.reduce((a, b) => a + b, 0) / values.length;
    case "Minimum":
      return Math.min(...values);
    case "Maximum":
      return Math.max(...values);
    case "SampleCount":
      return values.length;
  }
}

export class MetricStore {
  readonly datums: StoredDatum[] = [];

  put(datum: StoredDatum): void {
    this.datums.push(datum);
  }

  /** One metric, exactly these dimensions (CloudWatch matches dimension sets exactly), per period. */
  series(query: { namespace: string; metricName: string; dimensions: Readonly<Record<string, string>>; stat: Stat; period: number }): Series {
    const groups = new Map<number, number[]>();
    const periodMs = query.period * 1000;
    for (const d of this.datums) {
      if (d.namespace !== query.namespace || d.metricName !== query.metricName || !sameDimensions(d.dimensions, query.dimensions)) continue;
      const start = Math.floor(d.timestamp / periodMs) * periodMs;
      const values = groups.get(start) ?? [];
      values.push(d.value);
      groups.set(start, values);
    }
    const points = new Map<number, number>();
    for (const [start, values] of [...groups].sort((a, b) => a[0] - b[0])) points.set(start, statistic(values, query.stat));
    return { dimensions: query.dimensions, points };
  }

  /**
   * Every distinct metric (namespace, name, dimension set) stored, as ListMetrics lists them:
   * in `namespace`, named `metricName` when given, having every dimension of `dimensions` (with
   * that value when one is given) and possibly others.
   */
  metrics(filter: { namespace: string; metricName?: string; dimensions?: readonly { name: string; value?: string }[] }): { metricName: string; dimensions: Readonly<Record<string, string>> }[] {
    const found = new Map<string, { metricName: string; dimensions: Readonly<Record<string, string>> }>();
    for (const d of this.datums) {
      if (d.namespace !== filter.namespace || (filter.metricName !== undefined && d.metricName !== filter.metricName)) continue;
      if (!(filter.dimensions ?? []).every((f) => f.name in d.dimensions && (f.value === undefined || d.dimensions[f.name] === f.value))) continue;
      const sorted = Object.fromEntries(Object.entries(d.dimensions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      found.set(JSON.stringify([d.metricName, sorted]), { metricName: d.metricName, dimensions: sorted });
    }
    return [...found.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, m]) => m);
  }

  /** What `SEARCH('{ns,dim1,...} MetricName="x"', stat, period)` finds: one series per dimension-value set. */
  search(expression: string): Series[] {
    const m = /^SEARCH\('\{([^}]*)\}\s+MetricName="([^"]+)"',\s*'(\w+)',\s*(\d+)\)$/.exec(expression.trim());
    if (!m) throw new Error(`the local store understands SEARCH('{namespace,dims} MetricName="x"', 'Stat', period) only, not ${expression}`);
    const [namespace, ...dimensionNames] = m[1].split(",").map((s) => s.trim());
    const found = new Map<string, Readonly<Record<string, string>>>();
    for (const d of this.datums) {
      const keys = Object.keys(d.dimensions);
      if (d.namespace !== namespace || d.metricName !== m[2] || keys.length !== dimensionNames.length || !dimensionNames.every((n) => n in d.dimensions)) continue;
      found.set(JSON.stringify(dimensionNames.map((n) => d.dimensions[n])), d.dimensions);
    }
    return [...found.values()].map((dimensions) => this.series({ namespace, metricName: m[2], dimensions, stat: m[3] as Stat, period: Number(m[4]) }));
  }
}
