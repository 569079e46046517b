/**
 * Declared driver options: what a driver can be told besides port, rate and part, as data the CLI and
 * the app render (help, forms) and core validates once, before anything opens.
 */

/**
 * One vocabulary for operations that destroy more than the image replaces. A driver does them only
 * when the user named the word (CLI `--consent WORD`, a checkbox spelled out in the app).
 */
export type ConsentWord = 'unprotect' | 'mass-erase' | 'fuses' | 'overwrite-bootloader';

export const CONSENTS: Readonly<Record<ConsentWord, string>> = {
  unprotect: 'Remove read-out or block protection; on most chips this erases the whole memory first.',
  'mass-erase': 'Erase the whole chip, including what the image does not cover.',
  fuses: 'Write fuse or option bytes (clock, brown-out, boot configuration): a wrong value can lock the chip.',
  'overwrite-bootloader': 'Write over the bootloader section: a bad image leaves a board that no longer answers.',
};

export type DriverOperation = 'flash' | 'verify' | 'read' | 'erase' | 'blank-check' | 'probe';

export interface DriverOptionSpec {
  name: string;
  /** choice: one of `values`; list: comma-separated `values`; text: free (the driver checks it); number: whole. */
  type: 'choice' | 'list' | 'text' | 'number' | 'boolean';
  values?: readonly string[];
  /** What applies when the option is not given, as the user would write it. */
  default?: string;
  description: string;
  /** Setting this option is itself consent to a destructive operation (legacy spellings such as unprotect=erase-all-flash). */
  dangerous?: ConsentWord;
  /** The operations it affects; all when absent. */
  operations?: readonly DriverOperation[];
  /** Other names accepted for the same option (older spellings). */
  aliases?: readonly string[];
}

/** The reserved option key that carries consent words to a driver, comma-separated. */
export const CONSENT_OPTION = 'consent';
