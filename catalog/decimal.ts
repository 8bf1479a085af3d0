/**
 * Exact decimal amounts. A sum is kept as a whole number of units of 10^-decimals (a bigint),
 * added exactly, and written to DynamoDB as a decimal string, whose numbers are exact decimals
 * too. Binary floats would store 380622.469999999371 where the amounts add up to 380622.47.
 */

/** DynamoDB numbers hold 38 significant digits. */
export const DYNAMO_DIGITS = 38;
/**
 * Digits of an item's sum kept free for additions: with amounts below 10^(38 − 12) units, an
 * item can take 10^12 of them (far more than one bucket of one counter ever receives) and its sum
 * still fits in 38 digits.
 */
export const SUM_HEADROOM_DIGITS = 12;

const NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** A decimal string (as JavaScript prints numbers or DynamoDB returns them) as digits × 10^exponent. */
function parts(text: string): { digits: bigint; exponent: number } | undefined {
  const m = NUMBER.exec(text);
  if (!m) return undefined;
  const fraction = m[3] ?? "";
  const digits = BigInt(`${m[1]}${m[2]}${fraction}`);
  return { digits, exponent: Number(m[4] ?? 0) - fraction.length };
}

const pow10 = (n: number): bigint => 10n ** BigInt(n);
const POW10: readonly bigint[] = Array.from({ length: DYNAMO_DIGITS + 1 }, (_, n) => pow10(n));
const POW10_NUMBER: readonly number[] = Array.from({ length: 16 }, (_, n) => 10 ** n);
const PLAIN = /^-?\d+(?:\.\d+)?$/;

/**
 * An amount as written (its shortest round-trip form, which is what `String(number)` gives for
 * a JSON number) in units of 10^-decimals; undefined when it has more decimal places than that.
 */
export function toUnits(amount: number | string, decimals: number): bigint | undefined {
  if (typeof amount === "number" && decimals <= 15) {
    // The common case without a string: `scaled` units are exact when dividing back gives the
    // amount, and below 2^50 two amounts of `decimals` places never share a double, so the
    // amount as written has these units too.
    const scaled = Math.round(amount * POW10_NUMBER[decimals]);
    if (Math.abs(scaled) < 2 ** 50 && scaled / POW10_NUMBER[decimals] === amount) return BigInt(scaled);
  }
  const text = typeof amount === "number" ? String(amount) : amount;
  // The common case, a plain decimal without an exponent, without the regular expression.
  const dot = text.indexOf(".");
  const places = dot < 0 ? 0 : text.length - dot - 1;
  if (places <= decimals && PLAIN.test(text)) return BigInt(dot < 0 ? text : text.slice(0, dot) + text.slice(dot + 1)) * (POW10[decimals - places] ?? pow10(decimals - places));
  const p = parts(text);
  if (p === undefined) return undefined;
  const shift = p.exponent + decimals;
  if (shift >= 0) return p.digits * pow10(shift);
  const divisor = pow10(-shift);
  return p.digits % divisor === 0n ? p.digits / divisor : undefined;
}

/** The largest amount, in units, an item's sum can take 10^12 of and still be stored. */
export const MAX_UNITS: bigint = pow10(DYNAMO_DIGITS - SUM_HEADROOM_DIGITS) - 1n;

/** Units of 10^-decimals as a plain decimal string, without trailing zeros ("12.5", "-0.07", "3"). */
export function formatUnits(units: bigint, decimals: number): string {
  const negative = units < 0n;
  let text = (negative ? -units : units).toString();
  if (decimals > 0) {
    text = text.padStart(decimals + 1, "0");
    const whole = text.slice(0, -decimals);
    const fraction = text.slice(-decimals).replace(/0+$/, "");
    text = fraction === "" ? whole : `${whole}.${fraction}`;
  }
  return negative && text !== "0" ? `-${text}` : text;
}

/** `a + sign × b` of two decimal strings, exactly, as digits × 10^exponent; undefined when one is not a decimal. */
function exactSum(a: string, b: string, sign: 1n | -1n): { digits: bigint; exponent: number } | undefined {
  const x = parts(a);
  const y = parts(b);
  if (x === undefined || y === undefined) return undefined;
  const exponent = Math.min(x.exponent, y.exponent);
  return { digits: x.digits * pow10(x.exponent - exponent) + sign * y.digits * pow10(y.exponent - exponent), exponent };
}
const exactDifference = (a: string, b: string) => exactSum(a, b, -1n);

/** `a + b` of two decimal strings, exactly, in plain form without trailing zeros; throws on text that isn't a decimal. */
export function addDecimals(a: string, b: string): string {
  const s = exactSum(a, b, 1n);
  if (s === undefined) throw new Error(`can't add "${a}" and "${b}": not decimal numbers`);
  return s.exponent >= 0 ? (s.digits * pow10(s.exponent)).toString() : formatUnits(s.digits, -s.exponent);
}

/** `a − b` of two decimal strings, exactly, as a number (CloudWatch takes doubles). */
export function decimalDifference(a: string, b: string): number {
  const d = exactDifference(a, b);
  if (d === undefined) return Number(a) - Number(b);
  return d.exponent >= 0 ? Number(d.digits * pow10(d.exponent)) : Number(formatUnits(d.digits, -d.exponent));
}

/** Whether two decimal strings are one number ("12.50", "12.5" and "1.25e1"), exactly; text that isn't a decimal compares as text. */
export function sameDecimal(a: string, b: string): boolean {
  const d = exactDifference(a, b);
  return d === undefined ? a === b : d.digits === 0n;
}
