// A child process driven by lines, shared by the benchmarks that run a traced app.
import { ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A child process read line by line: `line()` resolves with the next line of its stdout. */
export class Child {
  readonly proc: ChildProcess;
  private readonly lines: string[] = [];
  private waiting: ((line: string) => void) | undefined;
  private ended = false;
  private stderr = '';
  private readonly exited: Promise<void>;

  constructor(name: string, command: string, args: string[], env: NodeJS.ProcessEnv) {
    this.proc = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr!.on('data', (d) => (this.stderr += String(d)));
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(line);
      } else this.lines.push(line);
    });
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.ended = true;
        if (this.waiting) this.waiting(`exit ${code ?? signal}`);
        if (code !== 0 && signal !== 'SIGKILL')
          process.stderr.write(`${name} exited ${code ?? signal}: ${this.stderr.trim()}\n`);
        resolve();
      });
    });
  }

  line(): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.ended) return Promise.resolve('exit');
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** The next line, which must start with `prefix`. */
  async expect(prefix: string): Promise<string> {
    const l = await this.line();
    if (!l.startsWith(prefix))
      throw new Error(`expected "${prefix}…", got "${l}"${this.stderr ? `: ${this.stderr.trim()}` : ''}`);
    return l;
  }

  send(line: string): void {
    this.proc.stdin!.write(`${line}\n`);
  }

  /** Closes its stdin (the apps exit then) and waits up to `ms` for it to end, else kills it. */
  async end(ms = 5000): Promise<void> {
    this.proc.stdin!.end();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exited, new Promise((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
    this.kill();
  }

  kill(): void {
    if (!this.ended) this.proc.kill('SIGKILL');
  }
}
