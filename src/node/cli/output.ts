import type { JobEvent } from '../../shared/events';
import type { FlashErrorInfo } from '../../shared/errors';
import { toolVersion } from './version';

export interface OutputMode {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
}

/**
 * Where a command's words go. stdout carries results only: one line (or, with --json, one JSON
 * object) per device, so scripts can read it; progress and driver messages go to stderr.
 */
export class Output {
  readonly color: boolean;
  /** The command whose results these are, named in every JSON object. */
  command = '';
  private bar: { port: string; text: string } | null = null;

  constructor(
    readonly mode: OutputMode,
    private readonly stdout: NodeJS.WriteStream = process.stdout,
    private readonly stderr: NodeJS.WriteStream = process.stderr,
  ) {
    // https://no-color.org: any non-empty NO_COLOR turns colour off; so does a pipe.
    this.color = Boolean(stdout.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  }

  /** One device's (or one command's) result: a text line, or the JSON object. */
  result(json: Record<string, unknown>, text: string | (() => string)): void {
    if (this.mode.json) this.line(JSON.stringify({ version: toolVersion(), command: this.command, ...json }));
    else this.line(this.paint(typeof text === 'string' ? text : text()));
  }

  /** Plain text on stdout (listings, info); nothing in JSON mode, where the command prints a result instead. */
  text(line: string): void {
    if (!this.mode.json) this.line(line);
  }

  /** A failure tied to a port (or none): FAIL line with what to do, or {"ok":false,...}. */
  failure(port: string | undefined, error: Pick<FlashErrorInfo, 'code' | 'message' | 'hint'>, extra: Record<string, unknown> = {}, suffix = ''): void {
    this.result(
      // `error` repeats the three fields as flash --json has always nested them (scripts read error.code).
      { ok: false, code: error.code, message: error.message, hint: error.hint, ...(port === undefined ? {} : { port }), ...extra, error: { code: error.code, message: error.message, hint: error.hint } },
      `FAIL ${port ?? ''}${port === undefined ? '' : ': '}${error.message}${suffix}\n     what to do: ${error.hint}`,
    );
  }

  /** A message for the person at the terminal (stderr), unless --quiet. */
  note(message: string): void {
    if (!this.mode.quiet) this.errLine(message);
  }

  /** The driver's log, prefixed with the port; debug lines only with -v (or WEBPROG_DEBUG). */
  logFor(port: string): (level: 'debug' | 'info' | 'warn', message: string) => void {
    return (level, message) => {
      if (level === 'debug' && !this.mode.verbose && !process.env.WEBPROG_DEBUG) return;
      if (level !== 'warn' && this.mode.quiet) return;
      this.errLine(`${port}: ${message}`);
    };
  }

  /**
   * Job progress on stderr: on a terminal one redrawn bar (phase, %, rate, time left); on a pipe or
   * with several devices plain lines at every 10 % or every 5 s, so a log stays readable.
   */
  progressFor(port: string, redraw: boolean): (e: JobEvent) => void {
    if (this.mode.quiet) return () => {};
    const tty = redraw && Boolean(this.stderr.isTTY);
    let lastStep = -1;
    let lastLine = 0;
    let lastDraw = 0;
    // A chip erase reports no bytes: show that it runs and for how long, so a 30 s erase is not a hang.
    let erase: { started: number; timer?: ReturnType<typeof setInterval> } | null = null;
    const endErase = () => {
      if (!erase) return;
      clearInterval(erase.timer);
      const s = ((performance.now() - erase.started) / 1000).toFixed(1);
      erase = null;
      if (tty) this.clearBar();
      this.stderr.write(`${port}: erase  done in ${s} s\n`);
    };
    return (e) => {
      if (e.type === 'phase') {
        lastStep = -1;
        endErase();
        if (tty) this.clearBar();
        if (e.phase === 'erase') {
          const started = performance.now();
          erase = { started };
          if (tty) {
            const draw = () => this.redraw(port, `${port}: erase  … ${((performance.now() - started) / 1000).toFixed(0)} s`);
            draw();
            erase.timer = setInterval(draw, 250);
            erase.timer.unref();
          } else this.stderr.write(`${port}: erase  started\n`);
        }
        return;
      }
      if (e.type !== 'progress' || e.total <= 0) return;
      const pct = Math.min(100, (e.done / e.total) * 100);
      const now = performance.now();
      const text = `${port}: ${e.phase.padEnd(6)} ${progressBar(pct, tty ? 24 : 0)}${pct.toFixed(0).padStart(3)}% ${rate(e.bytesPerSecond)}${eta(e.etaMs)}`;
      if (tty) {
        if (now - lastDraw < 100 && e.done < e.total) return;
        lastDraw = now;
        this.redraw(port, text);
        return;
      }
      const step = Math.floor(pct / 10);
      if (step === lastStep && now - lastLine < 5000) return;
      lastStep = step;
      lastLine = now;
      this.stderr.write(`${text} (${e.done}/${e.total} bytes)\n`);
    };
  }

  private redraw(port: string, text: string): void {
    this.stderr.write(`\r${text}\x1b[K`);
    this.bar = { port, text };
  }

  private clearBar(): void {
    if (!this.bar) return;
    this.stderr.write('\r\x1b[K');
    this.bar = null;
  }

  private line(text: string): void {
    this.clearBar();
    this.stdout.write(`${text}\n`);
  }

  private errLine(text: string): void {
    this.clearBar();
    this.stderr.write(`${text}\n`);
  }

  private paint(text: string): string {
    if (!this.color) return text;
    return text.replace(/^(OK|PASS)\b/, '\x1b[32m$1\x1b[0m').replace(/^(FAIL)\b/, '\x1b[31m$1\x1b[0m').replace(/^(WARN)\b/, '\x1b[33m$1\x1b[0m');
  }
}

function progressBar(pct: number, width: number): string {
  if (width === 0) return '';
  const full = Math.round((pct / 100) * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] `;
}

function rate(bytesPerSecond: number): string {
  if (bytesPerSecond <= 0) return '';
  return bytesPerSecond >= 1024 ? `${(bytesPerSecond / 1024).toFixed(1)} KiB/s` : `${Math.round(bytesPerSecond)} B/s`;
}

function eta(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '';
  const s = Math.ceil(ms / 1000);
  return `, ${s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`} left`;
}
