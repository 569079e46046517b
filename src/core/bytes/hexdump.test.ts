import { describe, expect, it } from 'vitest';
import { hexDump } from './hexdump';

describe('hexDump', () => {
  it('prints the hexdump -C layout', () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('Hello, flash!'), 0, 1, 2, 0xff, 0x5a]);
    expect(hexDump(bytes, { address: 0x100 })).toBe(
      '00000100  48 65 6c 6c 6f 2c 20 66  6c 61 73 68 21 00 01 02  |Hello, flash!...|\n' +
        '00000110  ff 5a                                             |.Z|',
    );
  });

  it('stops after maxLines', () => {
    expect(hexDump(new Uint8Array(64), { maxLines: 1 }).split('\n')[1]).toBe('… 48 more bytes');
  });
});
