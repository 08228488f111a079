/**
 * The option DSL: each EF_* option is declared once with its zod type, default, bounds and
 * description. Parsing, validation, `ufc config` and docs/configuration.md all read these specs.
 */
import { z } from 'zod';

export interface OptionSpec<T = unknown> {
  /** Section heading in docs/configuration.md. */
  group: string;
  description: string;
  /** Default as the user would type it ('' = unset). */
  defaultText: string;
  /** Human text of what is allowed, used in error lines and docs. */
  allowed: string;
  secret: boolean;
  /** Parses the raw string (already defaulted). Throws z.ZodError or returns T. */
  schema: z.ZodType<T, z.ZodTypeDef, string>;
  /** A comma-separated list (its items are masked one by one in `ufc config` and errors). */
  list?: boolean;
}

/** `orZero`: 0 is taken too, as "off", below a `min` above it. */
type Bounds = { min?: number; max?: number; orZero?: boolean };

function describeBounds(kind: string, b: Bounds): string {
  if (b.orZero === true) return `0, or ${describeBounds(kind, { ...b, orZero: false })}`;
  if (b.min !== undefined && b.max !== undefined) return `${kind} from ${b.min} to ${b.max}`;
  if (b.min !== undefined) return `${kind} of at least ${b.min}`;
  if (b.max !== undefined) return `${kind} of at most ${b.max}`;
  return kind;
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

export const opt = {
  bool(group: string, def: boolean, description: string): OptionSpec<boolean> {
    return {
      group, description, defaultText: String(def), allowed: 'true or false', secret: false,
      schema: z.string().transform((s, ctx) => {
        const v = s.trim().toLowerCase();
        if (TRUE.has(v)) return true;
        if (FALSE.has(v)) return false;
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'true or false' });
        return z.NEVER;
      }),
    };
  },
  int(group: string, def: number | null, description: string, b: Bounds = {}): OptionSpec<number> {
    const allowed = describeBounds('a whole number', b);
    return {
      group, description, defaultText: def === null ? '' : String(def), allowed, secret: false,
      schema: z.string().transform((s, ctx) => {
        const t = s.trim();
        const n = /^-?\d+$/.test(t) ? Number(t) : NaN;
        if (!Number.isSafeInteger(n) || (b.min !== undefined && n < b.min && !(b.orZero === true && n === 0)) || (b.max !== undefined && n > b.max)) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: allowed });
          return z.NEVER;
        }
        return n;
      }),
    };
  },
  str(group: string, def: string, description: string, allowed = 'any text'): OptionSpec<string> {
    return { group, description, defaultText: def, allowed, secret: false, schema: z.string() };
  },
  secret(group: string, description: string): OptionSpec<string> {
    return { group, description, defaultText: '', allowed: 'any text (kept secret)', secret: true, schema: z.string() };
  },
  oneOf<T extends string>(group: string, def: T, values: readonly T[], description: string): OptionSpec<T> {
    const allowed = `one of ${values.join(', ')}`;
    return {
      group, description, defaultText: def, allowed, secret: false,
      schema: z.string().transform((s, ctx) => {
        const v = s.trim().toLowerCase() as T;
        if (values.includes(v)) return v;
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: allowed });
        return z.NEVER;
      }),
    };
  },
  list(group: string, def: string, description: string, item?: { test: (s: string) => boolean; allowed: string }): OptionSpec<string[]> {
    const allowed = item ? `a comma-separated list of ${item.allowed}` : 'a comma-separated list';
    return {
      group, description, defaultText: def, allowed, secret: false, list: true,
      schema: z.string().transform((s, ctx) => {
        const parts = s.split(',').map((p) => p.trim()).filter((p) => p !== '');
        const bad = item ? parts.filter((p) => !item.test(p)) : [];
        if (bad.length > 0) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${allowed} (bad: ${bad.join(', ')})` });
          return z.NEVER;
        }
        // Port 0 (any free port, for tests) is the one item that may repeat.
        const twice = parts.filter((p, i) => p !== '0' && parts.indexOf(p) !== i);
        if (twice.length > 0) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${allowed}, each once (twice: ${[...new Set(twice)].join(', ')})` });
          return z.NEVER;
        }
        return parts;
      }),
    };
  },
  /** A string checked by a predicate; `allowed` explains the rule in error lines. */
  checked(group: string, def: string, description: string, allowed: string, test: (s: string) => string | null, secret = false): OptionSpec<string> {
    return {
      group, description, defaultText: def, allowed, secret,
      schema: z.string().transform((s, ctx) => {
        if (s === '') return s;
        const problem = test(s);
        if (problem !== null) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
          return z.NEVER;
        }
        return s;
      }),
    };
  },
};

/** Options every output shares, generated by name so they stay uniform. */
export type TimestampSourceOption = 'collect' | 'start' | 'end' | 'export';
export type OutputCommon<N extends string> = { [K in `EF_OUTPUT_${N}_ENABLE` | `EF_OUTPUT_${N}_ECS_ENABLE`]: OptionSpec<boolean> } & {
  [K in `EF_OUTPUT_${N}_TIMESTAMP_SOURCE`]: OptionSpec<TimestampSourceOption>;
};
export type StoreCommon<N extends string> = Omit<OutputCommon<N>, `EF_OUTPUT_${N}_ECS_ENABLE`>;

export function outputCommon<N extends string>(name: N, label: string, enabledByDefault = false): OutputCommon<N> {
  const group = `Output: ${label}`;
  return {
    ...storeCommon(name, label, enabledByDefault),
    [`EF_OUTPUT_${name}_ECS_ENABLE`]: opt.bool(group, false, 'Write Elastic Common Schema names instead of CODEX names.'),
  } as OutputCommon<N>;
}

/** The options of an output with columns of its own (DuckDB, ClickHouse): no ECS view to choose. */
export function storeCommon<N extends string>(name: N, label: string, enabledByDefault = false): StoreCommon<N> {
  const group = `Output: ${label}`;
  return {
    [`EF_OUTPUT_${name}_ENABLE`]: opt.bool(group, enabledByDefault, `Enable the ${label} output.`),
    [`EF_OUTPUT_${name}_TIMESTAMP_SOURCE`]: opt.oneOf(group, 'collect', ['collect', 'start', 'end', 'export'] as const, 'Which time becomes @timestamp.'),
  } as StoreCommon<N>;
}
