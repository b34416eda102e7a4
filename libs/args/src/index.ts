/**
 * GNU-style option parsing: `--name value`, `--name=value`, `-x value`, `-xvalue`, bundled
 * short flags (`-vv`), `--` to end options. Written here because the CLI must start fast.
 */
export type OptionKind =
  | 'flag' // --json
  | 'count' // -v, -vv
  | 'value' // --output DIR
  | 'optional' // --live[=USEC]: a value only with '='
  | 'list'; // -t TYPE, repeatable

export interface OptionSpec {
  name: string;
  short?: string;
  kind: OptionKind;
  valueName?: string;
  help: string;
}

export type OptionValue = boolean | number | string | string[] | undefined;

export interface Parsed {
  options: Record<string, OptionValue>;
  positionals: string[];
  /** Arguments after `--`, untouched. */
  rest: string[];
}

/** A user mistake on the command line; the message names it. */
export class ArgsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArgsError';
  }
}

export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[]): Parsed {
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short as string, s]));
  const options: Record<string, OptionValue> = {};
  const positionals: string[] = [];
  const set = (spec: OptionSpec, value: string | undefined, shown: string) => {
    switch (spec.kind) {
      case 'flag':
        if (value !== undefined) throw new ArgsError(`option ${shown} takes no value`);
        options[spec.name] = true;
        break;
      case 'count':
        if (value !== undefined) throw new ArgsError(`option ${shown} takes no value`);
        options[spec.name] = ((options[spec.name] as number) ?? 0) + 1;
        break;
      case 'optional':
        options[spec.name] = value ?? true;
        break;
      case 'value':
        options[spec.name] = value;
        break;
      case 'list':
        options[spec.name] = [...((options[spec.name] as string[]) ?? []), value as string];
        break;
    }
  };
  const takesValue = (spec: OptionSpec) => spec.kind === 'value' || spec.kind === 'list';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return { options, positionals, rest: argv.slice(i + 1) };
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const spec = byLong.get(name);
      if (!spec) throw new ArgsError(`unknown option --${name}`);
      let value = eq < 0 ? undefined : arg.slice(eq + 1);
      if (takesValue(spec) && value === undefined) {
        if (i + 1 >= argv.length) throw new ArgsError(`option --${name} needs a value (${spec.valueName ?? 'VALUE'})`);
        value = argv[++i];
      }
      set(spec, value, `--${name}`);
    } else if (arg.startsWith('-') && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const spec = byShort.get(arg[j]);
        if (!spec) throw new ArgsError(`unknown option -${arg[j]}`);
        if (takesValue(spec)) {
          let value = arg.slice(j + 1);
          if (value === '') {
            if (i + 1 >= argv.length)
              throw new ArgsError(`option -${arg[j]} needs a value (${spec.valueName ?? 'VALUE'})`);
            value = argv[++i];
          }
          set(spec, value, `-${arg[j]}`);
          break;
        }
        set(spec, undefined, `-${arg[j]}`);
      }
    } else {
      positionals.push(arg);
    }
  }
  return { options, positionals, rest: [] };
}

/** `--help` text of a set of options, aligned. */
export function formatOptions(specs: readonly OptionSpec[]): string {
  const rows = specs.map((s) => {
    const value =
      s.kind === 'value' || s.kind === 'list'
        ? ` ${s.valueName ?? 'VALUE'}`
        : s.kind === 'optional'
          ? `[=${s.valueName ?? 'VALUE'}]`
          : '';
    return [`${s.short ? `-${s.short}, ` : '    '}--${s.name}${value}`, s.help];
  });
  const width = Math.max(...rows.map((r) => r[0].length)) + 2;
  return rows.map(([left, help]) => `  ${left.padEnd(width)}${help}`).join('\n');
}
