/**
 * The serial monitor's terminal. xterm.js (and its stylesheet) is loaded only when a monitor is
 * first opened, so the first screen never pays for it.
 */
export interface TerminalHandle {
  write(bytes: Uint8Array): void;
  clear(): void;
  focus(): void;
  /** Keys typed in the terminal, as text to send. */
  onInput(listener: (text: string) => void): void;
  dispose(): void;
}

export async function createTerminal(host: HTMLElement): Promise<TerminalHandle> {
  const [{ Terminal }] = await Promise.all([import('@xterm/xterm'), import('@xterm/xterm/css/xterm.css')]);
  const css = getComputedStyle(host);
  const color = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  const fontSize = 13;
  const term = new Terminal({
    convertEol: true,
    cursorBlink: false,
    disableStdin: false,
    fontFamily: color('--mono', 'monospace'),
    fontSize,
    rows: 16,
    cols: Math.max(40, Math.floor(host.clientWidth / (fontSize * 0.6))),
    scrollback: 5000,
    theme: {
      background: color('--surface-2', '#1d242d'),
      foreground: color('--text', '#e4e8ee'),
      cursor: color('--accent', '#5b93f5'),
      selectionBackground: color('--accent-soft', '#17263f'),
    },
  });
  term.open(host);
  return {
    write: (bytes) => term.write(bytes),
    clear: () => term.clear(),
    focus: () => term.focus(),
    onInput: (listener) => void term.onData(listener),
    dispose: () => term.dispose(),
  };
}
