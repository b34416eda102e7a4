import { ArgsError, formatOptions, OptionSpec, parseArgs } from '@tstrace/args';
import { encodeFrame, FrameDecoder, StatusError, statusName, tstrace } from '@tstrace/comm';
import { SessiondClient, sessionToJson } from '@tstrace/ctl';
import { Command, COMMANDS } from './commands';
import { connectSessiond } from './connect';
import { renderSession } from './render';

/** Exit codes: 0 success, 1 the command failed, 2 bad command line, 3 no session daemon. */
export const EXIT = { ok: 0, failed: 1, usage: 2, noSessiond: 3 } as const;

const GLOBAL_OPTIONS: OptionSpec[] = [
  { name: 'help', short: 'h', kind: 'flag', help: 'show help (of a command, after its name)' },
  { name: 'version', short: 'V', kind: 'flag', help: 'show the version' },
  { name: 'json', kind: 'flag', help: 'machine-readable output: one JSON document on stdout' },
  { name: 'quiet', short: 'q', kind: 'flag', help: 'print only errors' },
  { name: 'verbose', short: 'v', kind: 'count', help: 'more output (-vv even more)' },
  { name: 'no-sessiond', short: 'n', kind: 'flag', help: 'do not start a session daemon when none runs' },
  { name: 'sessiond-path', kind: 'value', valueName: 'PATH', help: 'session daemon binary to start' },
];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return `Usage: tstrace [OPTIONS] COMMAND [COMMAND OPTIONS]

Options:
${formatOptions(GLOBAL_OPTIONS)}

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n')}
  ${'help'.padEnd(width)}Show help of a command

Run 'tstrace COMMAND --help' for the options of a command.
`;
}

function commandHelp(c: Command): string {
  return `Usage: ${c.usage}\n\n${c.summary}.\n${c.description ? `\n${c.description}\n` : ''}${c.options.length ? `\nOptions:\n${formatOptions(c.options)}\n` : ''}\nGlobal options:\n${formatOptions(GLOBAL_OPTIONS)}\n`;
}

/** Runs one command line; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const out = (text: string) => process.stdout.write(text);
  let json = argv.includes('--json');
  const fail = (code: number, error: Error, label: string) => {
    if (json) out(`${JSON.stringify({ error: { code: label, message: error.message } })}\n`);
    process.stderr.write(`Error: ${error.message}\n`);
    return code;
  };
  const commandIndex = argv.findIndex((a) => !a.startsWith('-'));
  const name = commandIndex < 0 ? undefined : argv[commandIndex];
  const command = COMMANDS.find((c) => c.name === name);
  let client: SessiondClient | undefined;
  try {
    if (name === 'help') {
      const topic = COMMANDS.find((c) => c.name === argv[commandIndex + 1]);
      if (argv[commandIndex + 1] && !topic) throw new ArgsError(`unknown command "${argv[commandIndex + 1]}"`);
      out(topic ? commandHelp(topic) : mainHelp());
      return EXIT.ok;
    }
    if (name !== undefined && !command) {
      // Global options before it may still be wrong; report those first.
      parseArgs(argv.slice(0, commandIndex), GLOBAL_OPTIONS);
      throw new ArgsError(`unknown command "${name}" (see 'tstrace help')`);
    }
    const parsed = parseArgs(
      argv.filter((_, i) => i !== commandIndex),
      [...GLOBAL_OPTIONS, ...(command?.options ?? [])],
    );
    json = !!parsed.options.json;
    if (parsed.options.help) {
      out(command ? commandHelp(command) : mainHelp());
      return EXIT.ok;
    }
    if (!command) {
      if (parsed.options.version) return run(['version', ...(json ? ['--json'] : [])]);
      process.stderr.write(mainHelp());
      return EXIT.usage;
    }
    if ((parsed.rest.length && !command.takesCommand) || parsed.positionals.length > command.maxPositionals) {
      throw new ArgsError(
        `unexpected argument "${[...parsed.positionals.slice(command.maxPositionals), ...parsed.rest][0]}" for ${command.name} (usage: ${command.usage})`,
      );
    }
    const code = await command.run({
      options: parsed.options,
      positionals: parsed.positionals,
      rest: parsed.rest,
      json,
      quiet: !!parsed.options.quiet,
      client: async () => {
        client ??= await connectSessiond({
          noSessiond: !!parsed.options['no-sessiond'],
          sessiondPath: parsed.options['sessiond-path'] as string | undefined,
          verbose: (parsed.options.verbose as number) ?? 0,
        });
        return client;
      },
      print: out,
      printJson: (value) => out(`${JSON.stringify(value, null, 2)}\n`),
    });
    return typeof code === 'number' ? code : EXIT.ok;
  } catch (err) {
    if (err instanceof ArgsError) return fail(EXIT.usage, err, 'USAGE');
    if (err instanceof StatusError) {
      const label = statusName(err.code);
      return fail(
        label === 'NO_SESSIOND' || label === 'TIMEOUT' || label === 'PERMISSION_DENIED' ? EXIT.noSessiond : EXIT.failed,
        err,
        label,
      );
    }
    return fail(EXIT.failed, err as Error, 'INTERNAL_ERROR');
  } finally {
    client?.close();
  }
}

/** Entry point of the `tstrace` binary. */
export function main(): void {
  // A reader that stops early (tstrace list | head) is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  void run(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

/**
 * Runs the code every command runs (option parsing, encoding a request, decoding and rendering a
 * session), so that the V8 code cache written at build time holds it compiled.
 */
export function warmUp(): void {
  parseArgs(
    ['--json', '-s', 'x', 'a,b'],
    [...GLOBAL_OPTIONS, ...COMMANDS.flatMap((c) => c.options)].filter(
      (o, i, all) => all.findIndex((x) => x.name === o.name) === i,
    ),
  );
  const request = tstrace.client.Request.encode({
    id: 1,
    enableEvent: { session: 's', domain: 1, names: ['a'], filter: 'x > 1' },
  }).finish();
  new FrameDecoder().push(encodeFrame(request));
  tstrace.client.Request.decode(request);
  const channel = {
    name: 'c',
    domain: 1,
    enabled: true,
    subbufSize: 4096,
    numSubbuf: 4,
    events: [{ name: 'a', enabled: true, filter: 'x', exclusions: ['b'] }],
    contexts: ['vpid'],
  };
  const session = {
    config: {
      name: 's',
      output: { path: '/p' },
      channels: [channel],
      trackers: [{ domain: 1, all: false, pids: [1] }],
    },
    uuid: 'u',
  };
  const reply = tstrace.client.Reply.decode(
    tstrace.client.Reply.encode({ id: 1, status: { code: 0, message: 'ok' }, session }).finish(),
  );
  tstrace.common.HelloReply.decode(
    tstrace.common.HelloReply.encode({ status: { code: 0 }, protocolMajor: 1 }).finish(),
  );
  renderSession(reply.session!);
  sessionToJson(reply.session!);
  for (const c of COMMANDS) commandHelp(c);
}
