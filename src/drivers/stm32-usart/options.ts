import { FlashError } from '../../shared/errors';
import { CONSENT_OPTION } from '../../shared/options';

/** --before default-reset: the usual wiring of a USB-serial adapter, RTS→BOOT0 and DTR→NRST. */
export const DEFAULT_RESET_ENTRY = 'rts&dtr,-dtr,,-rts';

/**
 * The exact value that expresses consent to remove read-out protection. Removing it makes the ROM
 * mass-erase the whole flash (AN3155 §3.12): the protected firmware and any data stored in flash are
 * gone for good. A boolean would be too easy to set by accident, so consent is this phrase.
 */
export const UNPROTECT_CONSENT = 'erase-all-flash';

/** Per-session settings of the STM32 USART driver (all optional). */
export interface Stm32UsartOptions {
  /**
   * Boot entry/exit by modem lines, in stm32flash's `-i` syntax: "entry[:exit]", each a list of signals
   * `dtr`, `rts` (asserted) or `-dtr`, `-rts` (released), joined by `&` (no delay) or `,` (100 ms).
   * Example for RTS→BOOT0 and DTR→NRST through inverting transistors: "rts&dtr,-dtr,,-rts:-rts&dtr,-dtr".
   */
  boot?: string;
  /** Consent to remove read-out protection when the chip has it: must be exactly UNPROTECT_CONSENT. */
  unprotect?: string;
  /** Start the application after the session with Go: 'flash' (the flash base) or an address. */
  go?: 'flash' | number;
  /**
   * Send command, address and data of one Read/Write Memory in a single burst instead of waiting for
   * each ACK (default on; retries always go step by step).
   */
  pipeline?: boolean;
}

/**
 * Options from a generic string map (what a CLI `--opt key=value` or a UI form produces), validated.
 * Unknown keys are refused, so a typo never silently drops a consent or a boot sequence.
 */
export function parseOptions(raw: Readonly<Record<string, unknown>> | undefined): Stm32UsartOptions {
  const out: Stm32UsartOptions = {};
  for (const [key, value] of Object.entries(raw ?? {})) {
    if (value === undefined) continue;
    switch (key) {
      case 'boot':
        out.boot = String(value);
        parseBootSequence(out.boot);
        break;
      case 'unprotect':
        out.unprotect = String(value);
        break;
      case 'go': {
        if (value === 'flash' || value === true) out.go = 'flash';
        else {
          const n = typeof value === 'number' ? value : Number(value);
          if (!Number.isInteger(n) || n < 0) throw new FlashError('unsupported', `go must be "flash" or an address, got "${String(value)}".`);
          out.go = n;
        }
        break;
      }
      case 'before':
        // default-reset: the usual adapter wiring, RTS→BOOT0 and DTR→NRST (stm32flash -i rts&dtr,-dtr,,-rts).
        if (value === 'default-reset' && raw?.boot === undefined) out.boot = DEFAULT_RESET_ENTRY;
        break;
      case 'after':
        if (value === 'hard-reset' && raw?.go === undefined) out.go = 'flash';
        break;
      case CONSENT_OPTION:
        break; // read with hasConsent() where it matters
      case 'pipeline':
        out.pipeline = !(value === false || value === 'false' || value === '0' || value === 'off');
        break;
      default:
        throw new FlashError('usage', `Unknown stm32-usart option "${key}" (before, after, boot, go, pipeline, unprotect).`);
    }
  }
  return out;
}

export type BootStep = { signal: 'dtr' | 'rts'; asserted: boolean } | { delayMs: number };

/** stm32flash `-i`: ',' adds 100 ms between signals, '&' none. */
const COMMA_DELAY_MS = 100;

/** Parses "entry[:exit]" into two step lists. GPIO numbers and `brk` cannot be driven from a browser port. */
export function parseBootSequence(spec: string): { entry: BootStep[]; exit: BootStep[] } {
  const [entry = '', exit = '', ...extra] = spec.split(':');
  if (extra.length > 0) throw bootError(spec, 'more than one ":"');
  return { entry: parseSteps(entry, spec), exit: parseSteps(exit, spec) };
}

function parseSteps(text: string, spec: string): BootStep[] {
  const steps: BootStep[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ',') {
      steps.push({ delayMs: COMMA_DELAY_MS });
      i++;
      continue;
    }
    if (c === '&' || c === ' ') {
      i++;
      continue;
    }
    const negate = c === '-';
    if (negate) i++;
    const word = /^[a-z0-9]+/i.exec(text.slice(i))?.[0];
    if (!word) throw bootError(spec, `unexpected "${text[i] ?? 'end'}"`);
    i += word.length;
    const name = word.toLowerCase();
    if (name === 'dtr' || name === 'rts') steps.push({ signal: name, asserted: !negate });
    else if (name === 'brk') throw bootError(spec, 'a serial break cannot be sent through this port API');
    else if (/^\d+$/.test(name)) throw bootError(spec, `GPIO ${name} is a pin of the host computer, which webprog cannot drive`);
    else throw bootError(spec, `unknown signal "${word}"`);
  }
  return steps;
}

function bootError(spec: string, why: string): FlashError {
  return new FlashError('unsupported', `Boot sequence "${spec}": ${why}.`, {
    hint: 'Use dtr and rts, "-" to release a line, "&" to join and "," for 100 ms, e.g. "rts&dtr,-dtr,,-rts:-rts&dtr,-dtr".',
  });
}
