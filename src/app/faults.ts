import type { FaultSpec } from '../shared/model';

/**
 * Link faults a virtual device can be given from the page (Settings, or `?fault=<mode>` in the URL),
 * for demos and the end-to-end tests. Seeds are fixed so a fault run repeats exactly.
 */
export const FAULT_MODES = {
  none: { label: 'None: a clean line' },
  disconnect: { label: 'Cable pulled while writing', spec: { seed: 1, disconnectAfterBytes: 600 } },
  noise: { label: 'Noisy line (bit errors)', spec: { seed: 7, bitFlipRate: 0.002 } },
  stall: { label: 'Device stops answering now and then', spec: { seed: 3, stallRate: 0.05, stallMs: 600 } },
} as const satisfies Record<string, { label: string; spec?: FaultSpec }>;

export type FaultMode = keyof typeof FAULT_MODES;

export function isFaultMode(value: string | null | undefined): value is FaultMode {
  return value != null && Object.hasOwn(FAULT_MODES, value);
}

export function faultSpec(mode: FaultMode): FaultSpec | undefined {
  const entry: { label: string; spec?: FaultSpec } = FAULT_MODES[mode];
  return entry.spec ? { ...entry.spec } : undefined;
}
