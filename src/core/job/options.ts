import { CONSENT_OPTION, CONSENTS, type ConsentWord, type DriverOptionSpec } from '../../shared/options';
import { FlashError } from '../../shared/errors';
import type { DriverInfo, TargetInfo } from '../../shared/model';

/*
 * Validation of what the user chose for a driver, from its meta alone: runs before any port opens,
 * so a typo never resets a board or voids a serial number.
 */

export type RawOptions = Readonly<Record<string, string>>;

function usage(message: string, hint: string): FlashError {
  return new FlashError('usage', message, { hint });
}

/**
 * Checks options against the driver's declarations and returns them normalised: aliases replaced by
 * their names, and every consent (given as `consent=` or by setting a dangerous option) gathered in
 * the `consent` key, where drivers read it with hasConsent().
 */
export function validateDriverOptions(meta: Pick<DriverInfo, 'id' | 'options' | 'consents'>, raw: RawOptions, consent: readonly string[] = []): Record<string, string> {
  const specs = meta.options ?? [];
  const out: Record<string, string> = {};
  const words = new Set<ConsentWord>();
  const allowed = new Set<string>(meta.consents ?? []);
  const addConsent = (word: string) => {
    if (!(word in CONSENTS)) throw usage(`"${word}" is not a consent word`, `Consent words: ${Object.keys(CONSENTS).join(', ')}.`);
    if (!allowed.has(word)) {
      throw usage(`${meta.id} has nothing that needs consent "${word}"`, allowed.size ? `${meta.id} asks consent for: ${[...allowed].join(', ')}.` : `${meta.id} has no destructive operations that need consent.`);
    }
    words.add(word as ConsentWord);
  };
  for (const word of consent) addConsent(word);
  for (const [key, value] of Object.entries(raw)) {
    if (key === CONSENT_OPTION) {
      value.split(',').filter(Boolean).forEach(addConsent);
      continue;
    }
    const spec = specs.find((s) => s.name === key || s.aliases?.includes(key));
    if (!spec) {
      const names = specs.map((s) => s.name);
      throw usage(`${meta.id} has no option "${key}"`, names.length ? `Its options: ${names.join(', ')} (webprog parts --driver ${meta.id}).` : `${meta.id} takes no options.`);
    }
    checkValue(meta.id, spec, value);
    out[spec.name] = value;
    if (spec.dangerous) words.add(spec.dangerous);
  }
  if (words.size > 0) out[CONSENT_OPTION] = [...words].join(',');
  return out;
}

function checkValue(driver: string, spec: DriverOptionSpec, value: string): void {
  const bad = (what: string) => usage(`${driver} option ${spec.name}: ${what}, got "${value}"`, spec.values ? `Use ${spec.values.join(' | ')}.` : spec.description);
  switch (spec.type) {
    case 'choice':
      if (spec.values && !spec.values.includes(value)) throw bad(`must be one of ${spec.values.join(', ')}`);
      break;
    case 'list':
      for (const item of value.split(',')) if (spec.values && !spec.values.includes(item)) throw bad(`"${item}" is not one of ${spec.values.join(', ')}`);
      break;
    case 'number':
      if (!/^(0x[0-9a-f]+|\d+)$/i.test(value)) throw bad('must be a whole number');
      break;
    case 'boolean':
      if (!['true', 'false', 'on', 'off', '1', '0'].includes(value)) throw bad('must be true or false');
      break;
    case 'text':
      if (value === '') throw bad('must not be empty');
  }
}

/** Whether the options (as validated above) carry consent to `word`. */
export function hasConsent(options: RawOptions | undefined, word: ConsentWord): boolean {
  return (options?.[CONSENT_OPTION] ?? '').split(',').includes(word);
}

/**
 * The target a user's part name means: by id, name or board alias, ignoring case and punctuation
 * ("ESP32-S3" = esp32s3, "uno" = m328p). A `+suffix` (serprog's W25Q16+unprotect) is kept apart.
 */
export function resolveTarget(meta: Pick<DriverInfo, 'id' | 'targets'>, text: string): { target?: TargetInfo; suffix: string } {
  const plus = text.indexOf('+');
  const head = plus < 0 ? text : text.slice(0, plus);
  const suffix = plus < 0 ? '' : text.slice(plus);
  const key = normalise(head);
  if (key === '' || key === 'auto') return { suffix }; // accept whatever answers
  const target =
    meta.targets.find((t) => normalise(t.id) === key) ??
    meta.targets.find((t) => normalise(t.name) === key || t.boards.some((b) => normalise(b) === key));
  if (!target) throw usage(`${meta.id} has no part "${head}"`, `List them with: webprog parts --driver ${meta.id}`);
  return { target, suffix };
}

function normalise(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]/g, '');
}
