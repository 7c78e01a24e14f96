// Command-line flag parsing for `tug` commands: `--name value`, `--name=value`,
// boolean `--name`, and positionals; unknown flags are an error with the usage.

export interface FlagSpec {
  name: string;
  /** "string" takes a value; "boolean" does not. */
  type: "string" | "boolean";
  default?: string | boolean;
  help: string;
}

export interface ParsedFlags {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export class UsageError extends Error {}

export function parseFlags(argv: string[], specs: FlagSpec[]): ParsedFlags {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values: Record<string, string | boolean | undefined> = {};
  for (const s of specs) values[s.name] = s.default;
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = a.slice(2, eq === -1 ? undefined : eq);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown flag: --${name}`);
    if (spec.type === "boolean") {
      values[name] = eq === -1 ? true : a.slice(eq + 1) !== "false";
      continue;
    }
    let v: string | undefined = eq === -1 ? argv[++i] : a.slice(eq + 1);
    if (v === undefined) throw new UsageError(`flag --${name} needs a value`);
    values[name] = v;
  }
  return { values, positionals };
}

export function flagHelp(specs: FlagSpec[]): string {
  return specs
    .map((s) => {
      const left = s.type === "string" ? `--${s.name} VALUE` : `--${s.name}`;
      const def = s.default !== undefined && s.default !== false ? ` (default ${String(s.default)})` : "";
      return `  ${left.padEnd(30)} ${s.help}${def}`;
    })
    .join("\n");
}

/** "127.0.0.1:6443" / "[::1]:6443" / ":6443" → host and port. */
export function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(v);
  if (!m) throw new UsageError(`--listen must be HOST:PORT, got ${JSON.stringify(v)}`);
  return { host: m[1] ?? (m[2] || "127.0.0.1"), port: Number(m[3]) };
}
