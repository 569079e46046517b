/**
 * The part selection string, `CHIP[+option...]`, as typed after `--chip` / `--part` and stored as
 * a job's targetId. It carries what the DriverContext has no field for:
 *
 *   W25Q16                  expect a W25Q16; refuse anything else
 *   +unprotect              consent to clear block-protection bits before writing (W25Q16+unprotect)
 *   +spi=8M                 SPI clock to ask the programmer for (Hz, or with k / M)
 *   +cs=1                   chip-select line on programmers with several
 *   (no CHIP, or "auto")    accept whatever part answers, from the table or its SFDP
 *
 * Simulated devices read the same string, with options of their own (see simulator.ts).
 */
export interface TargetSpec {
  chip?: string;
  options: Set<string>;
  spiHz?: number;
  cs?: number;
}

export function parseTarget(targetId: string | undefined): TargetSpec {
  const [head = '', ...rest] = (targetId ?? '').split('+').map((s) => s.trim());
  const spec: TargetSpec = { options: new Set() };
  if (head !== '' && head.toLowerCase() !== 'auto') spec.chip = head;
  for (const item of rest) {
    const [key = '', value] = item.split('=');
    const k = key.toLowerCase();
    if (k === 'spi' && value) spec.spiHz = parseHz(value);
    else if (k === 'cs' && value) spec.cs = Number(value);
    else if (k) spec.options.add(k);
  }
  return spec;
}

export function parseHz(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmM]?)(?:hz|Hz)?$/.exec(text.trim());
  if (!m) return undefined;
  const scale = m[2] === '' ? 1 : m[2]!.toLowerCase() === 'k' ? 1e3 : 1e6;
  return Math.round(Number(m[1]) * scale);
}
