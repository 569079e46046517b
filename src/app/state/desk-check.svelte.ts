import type { ImageSummary } from '../../shared/api';
import type { FlashErrorInfo } from '../../shared/errors';
import type { IntakeConsent, IntakeVerdict, Placement, Refusal } from '../../shared/intake';
import { call } from '../worker-client';
import type { DeviceChoice } from './catalog.svelte';
import { fitOf, type Fit } from './firmware.svelte';

/**
 * Whether the chosen file may go to the chosen board, decided on the desk before anything opens:
 * `reason` is the one sentence shown beside the disabled Flash button.
 */
export interface DeskVerdict {
  ok: boolean;
  reason: string | null;
  /** How much of the part's flash the placed image uses, for the meter. */
  fit: Fit | null;
  /** The worker's refusal, when it refused (its `consent` offers "Flash it anyway"). */
  refusal?: Refusal;
  /** The check is still running: the button waits, quietly. */
  pending?: boolean;
  /** Sentences worth showing that block nothing. */
  notes?: string[];
}

/** What the Flash screen makes of the worker's verdict about the file it would flash. */
export function deskVerdict(summary: ImageSummary, choice: DeviceChoice | undefined, intake: IntakeVerdict | null, error: FlashErrorInfo | null): DeskVerdict {
  if (!intake) {
    if (error) return { ok: false, reason: `${error.message} ${error.hint}`, fit: null };
    return { ok: false, reason: 'Checking the file against the board…', fit: null, pending: true };
  }
  // The meter shows where the bytes really go: a raw image at its placement, not at 0.
  const placed = intake.placements.length > 0 ? intake.placements.map(({ memory, address, length }) => ({ memory, address, length })) : summary.segments;
  const fit = fitOf({ ...summary, segments: placed }, choice);
  if (!intake.ok) return { ok: false, reason: `${intake.refusal.message} ${intake.refusal.hint}`, fit, refusal: intake.refusal };
  return { ok: true, reason: null, fit, notes: intake.notes };
}

/** What the desk check is asked about: a loaded file, a board, and what the user typed or allowed. */
export interface DeskInput {
  fileSha256: string;
  driverId: string;
  targetId?: string;
  /** The address the user typed for a raw image, or undefined for the driver's default. */
  address?: number;
  consent: IntakeConsent[];
}

/** Reads an address as people type them: 0x10000, 10000h, 65536. Null when it is not one. */
export function parseAddress(text: string): number | null {
  const t = text.trim().replace(/_/g, '');
  const hex = /^0x([0-9a-f]+)$/i.exec(t) ?? /^([0-9a-f]+)h$/i.exec(t);
  const value = hex ? parseInt(hex[1]!, 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  return Number.isSafeInteger(value) && value >= 0 && value <= 0xffff_ffff ? value : null;
}

function keyOf(input: DeskInput): string {
  return JSON.stringify([input.fileSha256, input.driverId, input.targetId ?? '', input.address ?? null, [...input.consent].sort()]);
}

/**
 * The worker's desk check (core/placement: content, placement, chip and family, ESP boot area, fit)
 * of the chosen file against the chosen board, asked again whenever either, the typed address or the
 * consent changes. The Flash button waits for a verdict about exactly what it would start.
 */
export class DeskCheck {
  /** The address field's text; '' means the driver's default placement. */
  address = $state('');
  /** "Flash it anyway" for a binary that reads as text. */
  anyway = $state(false);
  #verdict = $state.raw<IntakeVerdict | null>(null);
  #error = $state.raw<FlashErrorInfo | null>(null);
  #checked = $state('');
  #request = 0;

  /** The address typed, parsed; undefined when empty (default) or not an address (see `addressError`). */
  get typedAddress(): number | undefined {
    return this.address.trim() === '' ? undefined : (parseAddress(this.address) ?? undefined);
  }

  get addressError(): string | null {
    return this.address.trim() !== '' && parseAddress(this.address) === null ? 'Type the address in hex (0x10000) or decimal.' : null;
  }

  get consent(): IntakeConsent[] {
    return this.anyway ? ['text-as-firmware'] : [];
  }

  /** Back to the defaults, for a new file. */
  reset(): void {
    this.address = '';
    this.anyway = false;
  }

  /** The verdict about `input`, or null while it is being checked (or was never asked). */
  verdictFor(input: DeskInput): IntakeVerdict | null {
    return this.#checked === keyOf(input) ? this.#verdict : null;
  }

  /** The check could not run at all (the worker failed), for `input`. */
  errorFor(input: DeskInput): FlashErrorInfo | null {
    return this.#checked === keyOf(input) ? this.#error : null;
  }

  /** The placement of the (single) file, from the latest verdict whatever it was about. */
  get placement(): Placement | null {
    return this.#verdict?.placements[0] ?? null;
  }

  async check(input: DeskInput): Promise<void> {
    const key = keyOf(input);
    if (key === this.#checked) return;
    const request = ++this.#request;
    const result = await call((api) =>
      api.checkFirmware({
        fileSha256: input.fileSha256,
        driverId: input.driverId,
        ...(input.targetId === undefined ? {} : { targetId: input.targetId }),
        ...(input.address === undefined ? {} : { address: input.address }),
        ...(input.consent.length > 0 ? { consent: input.consent } : {}),
      }),
    );
    if (request !== this.#request) return; // a newer question won
    this.#verdict = result.ok ? result.value : null;
    this.#error = result.ok ? null : result.error;
    this.#checked = key;
  }
}
