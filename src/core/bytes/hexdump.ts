/**
 * Canonical hex dump (the `hexdump -C` layout): address, 16 bytes in two groups of 8, printable ASCII.
 * For logs, error details and the inspector's hex view.
 */
export function hexDump(bytes: Uint8Array, opts: { address?: number; width?: number; maxLines?: number } = {}): string {
  const width = opts.width ?? 16;
  const base = opts.address ?? 0;
  const lines: string[] = [];
  const maxLines = opts.maxLines ?? Infinity;
  for (let off = 0; off < bytes.length; off += width) {
    if (lines.length >= maxLines) {
      lines.push(`… ${bytes.length - off} more bytes`);
      break;
    }
    const row = bytes.subarray(off, off + width);
    let hexPart = '';
    let text = '';
    for (let i = 0; i < width; i++) {
      if (i === width / 2) hexPart += ' ';
      const b = row[i];
      hexPart += b === undefined ? '   ' : ' ' + (b < 16 ? '0' : '') + b.toString(16);
      if (b !== undefined) text += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
    }
    lines.push(`${(base + off).toString(16).padStart(8, '0')} ${hexPart}  |${text}|`);
  }
  return lines.join('\n');
}
