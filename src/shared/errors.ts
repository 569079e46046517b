import type { JobPhase } from './events';

/**
 * Error vocabulary shared by every thread. Drivers throw `FlashError`; the worker's API edge turns it
 * into a `FlashErrorInfo` value, so nothing thrown ever crosses comlink.
 */
export type ErrorCode =
  | 'no-sync' // the device never answered the handshake
  | 'timeout' // the device stopped answering mid-session
  | 'nak' // the device answered, but refused
  | 'protocol' // the device answered something the protocol does not allow
  | 'bad-checksum'
  | 'verify-mismatch' // the chip holds other bytes than the image (read the same twice)
  | 'noisy-line' // the read-back could not be read the same way twice: the line, not the chip
  | 'wrong-target' // signature / chip ID differs from the chosen part
  | 'no-chip' // the programmer answers, but no chip does (empty socket, loose clip)
  | 'write-protected' // the chip refuses writes until its protection is cleared
  | 'image-out-of-range' // image does not fit the target's memory
  | 'bad-image' // the file itself is malformed
  | 'bad-signature' // a manifest's vendor signature is missing or does not verify against the pinned key
  | 'device-lost' // port closed or cable pulled
  | 'port-unavailable' // cannot open the port (busy, permission, missing)
  | 'unsupported' // the driver or device cannot do what was asked
  | 'not-found' // a named thing (driver, part, recipe, job, library file) does not exist
  | 'conflict' // changed elsewhere meanwhile, or already running: the request was right, the moment wrong
  | 'invalid-argument' // a value given to the engine is not acceptable (an address, a format, an option)
  | 'usage' // the user's choice (flag, option, part) is invalid: found before anything was opened
  | 'aborted' // the user cancelled
  | 'storage-full'
  | 'storage'
  | 'internal';

/** Pictures the UI can show to explain a step with the hands (see ui/components). */
export type StepPicture = 'esp-boot-reset-buttons';

/**
 * The one thing the user can do about a failure, typed so the UI offers it without reading `details`
 * (which stays free-form, for the support call).
 */
export type ErrorAction =
  /** Nothing is wrong with the request: start it again (after the hint's step). */
  | { kind: 'retry' }
  /**
   * The device came back as another USB device the page may not use yet: pick it again in a picker
   * narrowed to it, then resume with `resumeOptions` (driver options the next attempt needs, e.g. the
   * ESP `reset=none` for a chip already waiting in download mode).
   */
  | {
      kind: 'pick-port-again';
      link: 'serial' | 'usb';
      vendorId: number;
      productId?: number;
      serialNumber?: string;
      /** The product name the picker will show, when it is known. */
      name?: string;
      resumeOptions?: Record<string, string>;
    }
  /** The device must be put in its bootloader by hand; `picture` shows how. */
  | { kind: 'press-boot'; picture: StepPicture }
  /** The line rate is too high for this link; `baudRate` is a rate worth trying. */
  | { kind: 'lower-baud'; baudRate?: number }
  /** A destructive step needs explicit consent: the driver option that gives it. */
  | { kind: 'consent-needed'; option: string; value: string };

export interface FlashErrorInfo {
  code: ErrorCode;
  /** What happened, in one sentence a technician understands. */
  message: string;
  /** What to do about it, in one sentence. */
  hint: string;
  /** Expected/actual bytes, addresses, raw frames: for the support call, folded away in the UI. */
  details?: Record<string, string | number | boolean>;
  /** The job phase the failure happened in, when it ended a job. */
  phase?: JobPhase;
  /** What the user can do about it, when there is one clear step. */
  action?: ErrorAction;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: FlashErrorInfo };

const DEFAULT_HINTS: Record<ErrorCode, string> = {
  'no-sync': 'Check the port and baud rate, then reset the board and try again.',
  timeout: 'Check the cable and the port, reset the board and try again.',
  nak: 'The device refused the command; check the part selection and protection settings.',
  protocol: 'The device is speaking a different protocol: check the selected programmer type.',
  'bad-checksum': 'The link is noisy: try a shorter cable or a lower baud rate.',
  'verify-mismatch': 'Flash again; if it keeps failing the chip may be worn or write-protected.',
  'noisy-line': 'Check the cable (shorter, shielded, no hub) or lower the baud rate, then flash again; the chip is probably fine.',
  'wrong-target': 'Select the part that matches the board, or check that the right board is connected.',
  'image-out-of-range': 'Use a firmware file built for this part.',
  'no-chip': 'Check that the chip sits in the socket the right way round, or that the clip makes contact.',
  'write-protected': 'Clear the protection only if you mean to: it may guard a bootloader or calibration data.',
  'bad-image': 'The file is damaged or not a firmware image: rebuild or download it again.',
  'bad-signature': 'Do not install it: ask the vendor for a fresh download link.',
  'device-lost': 'Check the cable, plug the board back in and try again.',
  'port-unavailable': 'Close other programs using the port (serial monitors, IDEs), then try again.',
  unsupported: 'Choose another programmer or operation for this device.',
  'not-found': 'Check the name; it may have been deleted or never existed here.',
  conflict: 'It was changed or started elsewhere meanwhile: reload, then try again.',
  'invalid-argument': 'Correct the value and try again.',
  usage: 'Correct the choice named above; nothing was opened or written.',
  aborted: 'The job was cancelled; flash again to finish programming the device.',
  'storage-full': 'Free some space: delete old firmware from the library or export and clear History.',
  storage: 'Reload the page; if it persists, export History and clear site data.',
  internal: 'This is a bug in webprog: please report it with the details below.',
};

export class FlashError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly details: Record<string, string | number | boolean>;
  readonly action: ErrorAction | undefined;
  /** Set by core/job when the error ends a job: the phase it was in. */
  phase: JobPhase | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { hint?: string; details?: Record<string, string | number | boolean>; action?: ErrorAction; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'FlashError';
    this.code = code;
    this.hint = opts.hint ?? DEFAULT_HINTS[code];
    this.details = opts.details ?? {};
    this.action = opts.action;
  }

  toInfo(): FlashErrorInfo {
    const info: FlashErrorInfo = { code: this.code, message: this.message, hint: this.hint };
    if (Object.keys(this.details).length > 0) info.details = { ...this.details };
    if (this.phase !== undefined) info.phase = this.phase;
    if (this.action !== undefined) info.action = copyAction(this.action);
    return info;
  }
}

/** Any thrown value as a FlashErrorInfo; an unexpected exception is reported as a bug, not hidden. */
export function toErrorInfo(err: unknown): FlashErrorInfo {
  if (err instanceof FlashError) return err.toInfo();
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'internal', message: `Unexpected error: ${message}`, hint: DEFAULT_HINTS.internal };
}

export function isFlashError(err: unknown, code?: ErrorCode): err is FlashError {
  return err instanceof FlashError && (code === undefined || err.code === code);
}

function copyAction(action: ErrorAction): ErrorAction {
  return action.kind === 'pick-port-again' && action.resumeOptions ? { ...action, resumeOptions: { ...action.resumeOptions } } : { ...action };
}
