/**
 * How the benchmark measures: CPU time (`process.cpuUsage`, user + system), never one wall-clock
 * sample. Variants of one comparison run interleaved, round after round, the order rotated each
 * round, so a slow spell of a shared machine hits them all alike; a ratio is taken within each
 * round, side by side, and reported as its median and range over the rounds.
 */

/** One way of doing the work: `run` does `units` of it (records, requests, events). */
export interface Variant {
  readonly name: string;
  readonly units: number;
  readonly run: () => unknown;
}

/** The median and the range of a figure over the rounds. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export interface Comparison {
  /** CPU µs per unit, per variant. */
  readonly perUnit: Readonly<Record<string, Spread>>;
  /** Rounds, and runs of each variant per round (short work is repeated to get past the clock's noise). */
  readonly rounds: number;
  readonly repeat: Readonly<Record<string, number>>;
}

export function spread(samples: readonly number[]): Spread {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

const cpuMicros = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/**
 * Runs every variant `rounds` times, interleaved and rotated, each run repeated until it has used
 * about `minCpuMs` of CPU (calibrated per variant on its warm-up run), and returns CPU µs per unit.
 * Ratios between two variants come from `ratio`, round by round.
 */
export async function compare(variants: readonly Variant[], options: { rounds?: number; minCpuMs?: number } = {}): Promise<Comparison & { samples: Record<string, number[]> }> {
  const rounds = options.rounds ?? 5;
  const minCpuMs = options.minCpuMs ?? 60;
  const repeat: Record<string, number> = {};
  for (const v of variants) {
    await v.run(); // warm the JIT and every cache a run fills
    const start = cpuMicros();
    await v.run();
    repeat[v.name] = Math.max(1, Math.ceil((minCpuMs * 1000) / Math.max(cpuMicros() - start, 1)));
  }
  const samples: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(round + k) % variants.length];
      const start = cpuMicros();
      for (let r = 0; r < repeat[v.name]; r++) await v.run();
      samples[v.name].push((cpuMicros() - start) / (repeat[v.name] * v.units));
    }
  }
  return { perUnit: Object.fromEntries(Object.entries(samples).map(([name, s]) => [name, spread(s)])), rounds, repeat, samples };
}

/** `of`'s speed as a share of `floor`'s (floor CPU ÷ its CPU), round by round: 1 means as fast as the floor. */
export const ratio = (samples: Record<string, number[]>, of: string, floor: string): Spread => spread(samples[of].map((cpu, i) => samples[floor][i] / cpu));

/** Numbers the way the tables print them. */
export const fmt = {
  int: (n: number): string => Math.round(n).toLocaleString("en-US"),
  fixed: (n: number, digits = 2): string => n.toFixed(digits),
  spread: (s: Spread, digits = 2, unit = ""): string => `${s.median.toFixed(digits)}${unit} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`,
};

/** Left-aligned first column, right-aligned the rest. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], indent = "   "): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: readonly string[]) => indent + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}
