// resource.Quantity: the fixed-point numbers used for CPU, memory and storage amounts
// ("100m", "1Gi", "1e3", "0.5"), as documented in
// https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/.
// A quantity is held exactly as a BigInt count of nano-units (the smallest precision
// upstream keeps; finer input is rounded up), plus the suffix family it was written in,
// which decides its canonical serialisation: "1000" → "1k", "1024Mi" → "1Gi",
// "0.5" → "500m", "1.5Gi" → "1536Mi", "1e3" → "1e3".

export type QuantityFormat = "DecimalSI" | "BinarySI" | "DecimalExponent";

export interface Quantity {
  /** The value × 10^9, exact. */
  nanos: bigint;
  format: QuantityFormat;
}

export const QUANTITY_FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
export const QUANTITY_NUMERIC_ERROR = "unable to parse numeric part of quantity";
export const QUANTITY_SUFFIX_ERROR = "unable to parse quantity's suffix";

export class QuantityError extends Error {}

const NANO = 1_000_000_000n;

const DECIMAL_SUFFIXES: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIXES: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_BY_EXP = new Map(Object.entries(DECIMAL_SUFFIXES).map(([s, e]) => [e, s]));
const BINARY_BY_POWER = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

const SHAPE = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;

function pow10(e: number): bigint {
  return 10n ** BigInt(e);
}

/** Divides rounding away from zero (upstream rounds lost precision up). */
function divCeilAway(n: bigint, d: bigint): bigint {
  const q = n / d;
  return n % d === 0n ? q : n < 0n ? q - 1n : q + 1n;
}

/** Parses a quantity string; throws QuantityError with upstream's messages. */
export function parseQuantity(s: string): Quantity {
  if (typeof s !== "string" || s.length === 0) throw new QuantityError(QUANTITY_FORMAT_ERROR);
  const m = SHAPE.exec(s.trim() === s ? s : "");
  if (!m) throw new QuantityError(QUANTITY_FORMAT_ERROR);
  const [, num, suffix] = m as unknown as [string, string, string];
  const nm = /^([+-]?)([0-9]*)(?:\.([0-9]*))?$/.exec(num);
  if (!nm || (nm[2]!.length === 0 && (nm[3] ?? "").length === 0)) throw new QuantityError(QUANTITY_NUMERIC_ERROR);
  const negative = nm[1] === "-";
  const intPart = nm[2] || "0";
  const fracPart = nm[3] ?? "";

  let format: QuantityFormat;
  let exp10 = 0; // value = number × 10^exp10 × 2^exp2
  let exp2 = 0;
  if (suffix in DECIMAL_SUFFIXES) {
    format = "DecimalSI";
    exp10 = DECIMAL_SUFFIXES[suffix]!;
  } else if (suffix in BINARY_SUFFIXES) {
    format = "BinarySI";
    exp2 = BINARY_SUFFIXES[suffix]!;
  } else if (/^[eE][-+]?[0-9]+$/.test(suffix)) {
    format = "DecimalExponent";
    exp10 = Number.parseInt(suffix.slice(1), 10);
    if (Math.abs(exp10) > 1000) throw new QuantityError(QUANTITY_SUFFIX_ERROR);
  } else {
    throw new QuantityError(QUANTITY_SUFFIX_ERROR);
  }

  // digits × 10^(exp10 - fracLen) × 2^exp2, expressed in nano-units.
  const digits = BigInt(intPart + fracPart) * (1n << BigInt(exp2));
  const scale = exp10 - fracPart.length + 9;
  let nanos = scale >= 0 ? digits * pow10(scale) : divCeilAway(digits, pow10(-scale));
  if (negative) nanos = -nanos;
  return { nanos, format };
}

export function tryParseQuantity(s: unknown): Quantity | undefined {
  if (typeof s !== "string") return undefined;
  try {
    return parseQuantity(s);
  } catch {
    return undefined;
  }
}

/** Integers appear in JSON for quantities too (`cpu: 2`); accept them like upstream's decoder. */
function toQuantity(q: Quantity | string | number): Quantity {
  if (typeof q === "number") return parseQuantity(String(q));
  return typeof q === "string" ? parseQuantity(q) : q;
}

function formatDecimal(nanos: bigint, exponentStyle: boolean): string {
  const neg = nanos < 0n;
  let mant = neg ? -nanos : nanos;
  let exp = -9;
  while (mant % 10n === 0n) {
    mant /= 10n;
    exp++;
  }
  // Exponents are multiples of 3 rounded down so the mantissa stays an integer.
  const adj = Math.floor(exp / 3) * 3;
  mant *= pow10(exp - adj);
  exp = adj;
  let suffix: string;
  if (exponentStyle) suffix = exp === 0 ? "" : `e${exp}`;
  else if (exp > 18) {
    mant *= pow10(exp - 18);
    suffix = "E";
  } else suffix = DECIMAL_BY_EXP.get(exp)!;
  return `${neg ? "-" : ""}${mant}${suffix}`;
}

/** Canonical serialisation, as the API server returns quantities. */
export function formatQuantity(q: Quantity): string {
  if (q.nanos === 0n) return "0";
  if (q.format === "BinarySI" && q.nanos % NANO === 0n) {
    const v = q.nanos / NANO;
    const abs = v < 0n ? -v : v;
    if (abs >= 1024n) {
      let mant = abs;
      let p = 0;
      while (p < 6 && mant % 1024n === 0n) {
        mant /= 1024n;
        p++;
      }
      return `${v < 0n ? "-" : ""}${mant}${BINARY_BY_POWER[p]}`;
    }
  }
  return formatDecimal(q.nanos, q.format === "DecimalExponent");
}

/** "1024Mi" → "1Gi"; throws QuantityError for malformed input. */
export function canonicalQuantity(s: string | number): string {
  return formatQuantity(toQuantity(s));
}

export function compareQuantity(a: Quantity | string | number, b: Quantity | string | number): -1 | 0 | 1 {
  const x = toQuantity(a).nanos;
  const y = toQuantity(b).nanos;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Value in milli-units rounded up (upstream MilliValue): CPU "100m" → 100, "1" → 1000. */
export function toMillis(q: Quantity | string | number): number {
  return Number(divCeilAway(toQuantity(q).nanos, 1_000_000n));
}

/** Integer value rounded up (upstream Value): memory "1Gi" → 1073741824. */
export function toBytes(q: Quantity | string | number): number {
  return Number(divCeilAway(toQuantity(q).nanos, NANO));
}

export function addQuantity(a: Quantity | string, b: Quantity | string): Quantity {
  const x = toQuantity(a);
  return { nanos: x.nanos + toQuantity(b).nanos, format: x.format };
}

export function subQuantity(a: Quantity | string, b: Quantity | string): Quantity {
  const x = toQuantity(a);
  return { nanos: x.nanos - toQuantity(b).nanos, format: x.format };
}

export function quantityFromMillis(millis: number, format: QuantityFormat = "DecimalSI"): Quantity {
  return { nanos: BigInt(Math.round(millis)) * 1_000_000n, format };
}

export function quantityFromBytes(bytes: number, format: QuantityFormat = "BinarySI"): Quantity {
  return { nanos: BigInt(Math.round(bytes)) * NANO, format };
}
