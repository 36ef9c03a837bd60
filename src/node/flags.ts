/**
 * OpenSSL-style command-line flags (`-connect host:port`, `-quiet`): a table per command, so
 * an unknown flag is refused with the list of those supported.
 */
export class UsageError extends Error {}

export interface FlagSpec {
  /** The flag, with its dash: '-connect'. */
  flag: string;
  /** What its value is, for the usage text; absent for a switch. */
  value?: string;
  help: string;
  /** May be given more than once (values collected in order). */
  repeat?: boolean;
}

export type Parsed = Map<string, string[] | true>;

export function parseFlags(command: string, specs: readonly FlagSpec[], args: readonly string[]): Parsed {
  const byFlag = new Map(specs.map((s) => [s.flag, s]));
  const parsed: Parsed = new Map();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const spec = byFlag.get(arg);
    if (!spec) {
      throw new UsageError(`${command}: unknown option ${arg}; supported: ${specs.map((s) => s.flag).join(' ')}`);
    }
    if (spec.value === undefined) {
      parsed.set(spec.flag, true);
      continue;
    }
    const value = args[++i];
    if (value === undefined) throw new UsageError(`${command}: ${spec.flag} needs a value (${spec.value})`);
    const previous = parsed.get(spec.flag);
    if (previous && !spec.repeat) throw new UsageError(`${command}: ${spec.flag} given twice`);
    parsed.set(spec.flag, [...(Array.isArray(previous) ? previous : []), value]);
  }
  return parsed;
}

export function usage(command: string, summary: string, specs: readonly FlagSpec[]): string {
  const width = Math.max(...specs.map((s) => s.flag.length + (s.value ? s.value.length + 1 : 0)));
  const lines = specs.map((s) => `  ${`${s.flag}${s.value ? ` ${s.value}` : ''}`.padEnd(width)}  ${s.help}`);
  return `usage: openssl-psk-wasm ${command} [options]\n${summary}\n${lines.join('\n')}\n`;
}

/** The single value of a flag, or undefined. */
export function value(parsed: Parsed, flag: string): string | undefined {
  const v = parsed.get(flag);
  return Array.isArray(v) ? v[v.length - 1] : undefined;
}

export function hexKey(text: string, flag: string): Uint8Array {
  if (!/^([0-9a-fA-F]{2})+$/.test(text)) throw new UsageError(`${flag} takes the key in hex, an even number of digits`);
  return Uint8Array.from(text.match(/../g)!, (b) => parseInt(b, 16));
}
