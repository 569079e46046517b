import type { IntakeConsent, Refusal } from '../../shared/intake';
import { detectFormat, formatFromName, type ImageFormat } from '../image/index';

/**
 * What a file's bytes say it is, before any parser runs: empty files, web pages, text, archives and
 * files whose content contradicts their name are refused with one calm sentence. A raw binary that
 * reads as text needs the explicit consent 'text-as-firmware'.
 */
export type ContentCheck = { ok: true; format: ImageFormat } | { ok: false; refusal: Refusal };

/** Printable share above which a "binary" reads as text; compiled code sits far below (0x00/0xFF runs, opcodes). */
const TEXT_SHARE = 0.9;
/** Enough of a file to judge it; a firmware's first 64 KiB says what it is. */
const SAMPLE = 64 * 1024;

const FORMAT_NAMES: Record<ImageFormat, string> = {
  ihex: 'Intel HEX',
  srec: 'Motorola S-record',
  elf: 'ELF',
  uf2: 'UF2',
  dfuse: 'DfuSe',
  dfu: 'DFU',
  esp: 'an ESP image',
  bin: 'a raw binary',
};

/** Other files people pick by mistake, by their magic numbers. */
const NOT_FIRMWARE: { magic: number[]; what: string; hint: string }[] = [
  { magic: [0x50, 0x4b, 0x03, 0x04], what: 'a ZIP archive', hint: 'Unpack it and pick the firmware file inside.' },
  { magic: [0x1f, 0x8b], what: 'a gzip archive', hint: 'Unpack it and pick the firmware file inside.' },
  { magic: [0x25, 0x50, 0x44, 0x46], what: 'a PDF document', hint: 'Pick the firmware file itself (.hex, .bin, .elf, .uf2).' },
  { magic: [0x89, 0x50, 0x4e, 0x47], what: 'a PNG picture', hint: 'Pick the firmware file itself (.hex, .bin, .elf, .uf2).' },
  { magic: [0xff, 0xd8, 0xff], what: 'a JPEG picture', hint: 'Pick the firmware file itself (.hex, .bin, .elf, .uf2).' },
];

export function checkContent(bytes: Uint8Array, name: string, consent: readonly IntakeConsent[] = []): ContentCheck {
  const refuse = (r: Omit<Refusal, 'code'> & { code?: Refusal['code'] }): ContentCheck => ({ ok: false, refusal: { code: 'bad-image', part: name, ...r } });
  if (bytes.length === 0 || bytes.every(isBlank)) {
    return refuse({ reason: 'empty', message: 'This file is empty: there is nothing to program.', hint: 'Build the firmware again or pick the file the build produced.' });
  }
  const other = NOT_FIRMWARE.find((m) => m.magic.every((b, i) => bytes[i] === b));
  if (other) return refuse({ reason: 'not-firmware', message: `This is ${other.what}, not firmware.`, hint: other.hint });
  if (looksLikeHtml(bytes)) {
    return refuse({
      reason: 'web-page',
      message: 'This looks like a web page, not firmware.',
      hint: 'The download saved the page around the file: download the firmware itself (on GitHub, the "Raw" or release-asset link).',
    });
  }
  const byContent = detectFormat(bytes);
  const byName = formatFromName(name);
  const textual = readsAsText(bytes);
  // A name that promises a structured format the content is not: a .hex that is not Intel HEX.
  if (byName !== undefined && byName !== 'bin' && byName !== byContent && !(byName === 'dfuse' && byContent === 'dfu')) {
    const is = textual && byContent === 'bin' ? 'text' : FORMAT_NAMES[byContent];
    return refuse({
      reason: 'name-mismatch',
      message: `This file is named like ${FORMAT_NAMES[byName]} but its content is ${is}.`,
      hint: 'Pick the file the build produced for flashing, or check that it was not renamed or saved from a viewer.',
      details: { named: byName, content: byContent },
    });
  }
  if (byContent !== 'bin' || !textual) return { ok: true, format: byContent };
  if (byName === undefined) {
    return refuse({ reason: 'text', message: 'This is a text file, not firmware.', hint: 'Pick the firmware the build produced (.hex, .bin, .elf, .uf2).' });
  }
  if (consent.includes('text-as-firmware')) return { ok: true, format: 'bin' };
  return refuse({
    reason: 'mostly-text',
    message: 'This binary reads as text, which firmware almost never does.',
    hint: 'Check that it is the right file; flash it anyway only if you know it is meant to be text (a data or configuration image).',
    consent: 'text-as-firmware',
  });
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * Text: mostly printable ASCII, or well-formed UTF-8 with hardly any control bytes (a README in any
 * language). Compiled code is neither: opcodes, 0x00 and 0xFF runs break both.
 */
function readsAsText(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, SAMPLE);
  let ascii = 0;
  let control = 0;
  for (const c of sample) {
    if ((c >= 0x20 && c < 0x7f) || isBlank(c)) ascii++;
    else if (c < 0x20 || c === 0x7f) control++;
  }
  if (control > 0 && sample.includes(0)) return false;
  return ascii / sample.length >= TEXT_SHARE || (control / sample.length < 0.01 && isUtf8(sample));
}

/** Well-formed UTF-8 (a sequence cut at the end of the sample counts as well-formed). */
function isUtf8(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c < 0x80) continue;
    const extra = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (extra < 0) return false;
    for (let k = 1; k <= extra && i + k < bytes.length; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return false;
    i += extra;
  }
  return true;
}

/** An HTML document: a doctype or an <html>/<head>/<body> tag near the start (after a BOM and blanks). */
function looksLikeHtml(bytes: Uint8Array): boolean {
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const head = String.fromCharCode(...bytes.subarray(start, start + 1024)).trimStart().toLowerCase();
  return /^<!doctype html|^<html[\s>]|^<head[\s>]|^<body[\s>]/.test(head) || (head.startsWith('<') && /<html[\s>]/.test(head));
}
