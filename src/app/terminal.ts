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
  const unshim = adoptStyleElements(host.ownerDocument);
  term.open(host);
  return {
    write: (bytes) => term.write(bytes),
    clear: () => term.clear(),
    focus: () => term.focus(),
    onInput: (listener) => void term.onData(listener),
    dispose: () => {
      term.dispose();
      unshim();
    },
  };
}

let shims = 0;
let original: Document['createElement'] | null = null;

/**
 * xterm.js 6 writes its renderer's CSS into <style> elements it creates, which the page's strict
 * Content-Security-Policy (style-src 'self') refuses. While a terminal exists, a <style> element created
 * by script is an inert placeholder whose text goes into a constructable stylesheet adopted by the
 * document (not inline CSS, so the policy allows it). The page's own CSS is files, never created <style>s.
 * Returns the undo, once the terminal is gone.
 */
function adoptStyleElements(doc: Document): () => void {
  if (shims++ === 0) {
    const create = (original = doc.createElement);
    doc.createElement = function (this: Document, tag: string, options?: ElementCreationOptions) {
      return tag.toLowerCase() === 'style' ? adoptedStyle(doc) : create.call(this, tag, options);
    } as Document['createElement'];
  }
  let undone = false;
  return () => {
    if (undone) return;
    undone = true;
    if (--shims === 0 && original) doc.createElement = original;
  };
}

function adoptedStyle(doc: Document): HTMLElement {
  const element = (original ?? doc.createElement).call(doc, 'template') as HTMLElement;
  const sheet = new CSSStyleSheet();
  doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
  let text = '';
  const setText = (value: string | null) => {
    text = value ?? '';
    sheet.replaceSync(text);
  };
  Object.defineProperty(element, 'textContent', { get: () => text, set: setText });
  Object.defineProperty(element, 'innerText', { get: () => text, set: setText });
  const remove = element.remove.bind(element);
  element.remove = () => {
    doc.adoptedStyleSheets = doc.adoptedStyleSheets.filter((s) => s !== sheet);
    remove();
  };
  return element;
}
