/** The bytes of an ASCII (or Latin-1) string, one a character: no TextEncoder in core. */
export function asciiBytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}
