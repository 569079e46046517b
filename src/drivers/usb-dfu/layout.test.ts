import { describe, expect, it } from 'vitest';
import { FlashError } from '../../shared/errors';
import { describeLayout, layoutMemory, parseMemoryLayout, planPageSize, sectorAt, sectorsIn } from './layout';
import { DFU_PARTS } from './parts';
import {
  BCD_DFUSE,
  DFU_STATE,
  DFUSE_COMMAND,
  dfuseCommand,
  encodeFunctionalDescriptor,
  encodeStatus,
  parseConfiguration,
  parseFunctionalDescriptor,
  parseStatus,
  stateName,
  statusName,
} from './protocol';

const F4 = '@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg';

describe('DfuSe memory layout strings (UM0424 §10.3.2)', () => {
  it('parses the STM32F4 flash: 4 x 16 KiB, 1 x 64 KiB, 7 x 128 KiB, all readable, erasable, writable', () => {
    const l = parseMemoryLayout(F4);
    expect(l.name).toBe('Internal Flash');
    expect(l.segments).toEqual([
      { start: 0x08000000, count: 4, size: 0x4000, readable: true, erasable: true, writable: true },
      { start: 0x08010000, count: 1, size: 0x10000, readable: true, erasable: true, writable: true },
      { start: 0x08020000, count: 7, size: 0x20000, readable: true, erasable: true, writable: true },
    ]);
    expect(sectorAt(l, 0x0801ffff)).toMatchObject({ start: 0x08010000, size: 0x10000 });
    expect(sectorAt(l, 0x08100000)).toBeNull();
    expect(sectorsIn(l, 0x0800c000, 0x08021000).map((s) => s.start)).toEqual([0x0800c000, 0x08010000, 0x08020000]);
    expect(describeLayout(l)).toBe('Internal Flash: 4 x 16 KiB at 0x08000000 (rew), 1 x 64 KiB at 0x08010000 (rew), 7 x 128 KiB at 0x08020000 (rew)');
  });

  it("reads byte sizes with a blank multiplier, and treats ST's Device Feature as not erasable (as dfu-util does)", () => {
    expect(parseMemoryLayout('@Option Bytes  /0x1FFFC000/01*016 g').segments[0]).toMatchObject({ start: 0x1fffc000, size: 16 });
    expect(parseMemoryLayout('@OTP Memory /0x1FFF7800/01*512 g,01*016 g').segments.map((s) => [s.start, s.size])).toEqual([
      [0x1fff7800, 512],
      [0x1fff7a00, 16],
    ]);
    expect(parseMemoryLayout('@Device Feature/0xFFFF0000/01*004 g').segments[0]).toMatchObject({ readable: true, erasable: false, writable: true });
    expect(parseMemoryLayout('@SPI Flash /0x90000000/2*1Me').segments[0]).toMatchObject({ size: 0x100000, readable: true, erasable: false, writable: true });
  });

  it('becomes one TargetMemory with read-only sectors and holes reserved', () => {
    const l = parseMemoryLayout('@Internal Flash  /0x08000000/02*016Ka,02*016Kg/0x08100000/01*016Kg');
    const m = layoutMemory(l, 'flash');
    expect(m).toMatchObject({ name: 'flash', base: 0x08000000, size: 0x104000, pageSize: 0x4000 });
    expect(m.reserved.map((r) => [r.start, r.end])).toEqual([
      [0x08000000, 0x08008000],
      [0x08010000, 0x08100000],
    ]);
    expect(m.reserved[0]!.what).toMatch(/read-only sectors/);
    expect(m.reserved[1]!.what).toMatch(/hole/);
  });

  it('plans with the smallest writable sector, or the common divisor of odd boundaries', () => {
    expect(planPageSize(parseMemoryLayout(F4))).toBe(0x4000);
    expect(planPageSize(parseMemoryLayout('@Internal Flash  /0x08000000/128*002Kg'))).toBe(2048);
    expect(planPageSize(parseMemoryLayout('@Odd /0x08000000/01*003Kg,01*002Kg'))).toBe(1024);
  });

  it('refuses what is not a layout, saying so', () => {
    for (const bad of ['Internal Flash', '@Flash/0x08000000', '@Flash/08000000/1*2Kg', '@Flash/0x08000000/1*2Kz', '@Flash/0x08000000/0*2Kg', '@Flash/0xFFFFF000/2*4Kg']) {
      const err = (() => {
        try {
          parseMemoryLayout(bad);
          return null;
        } catch (e) {
          return e;
        }
      })();
      expect(err, bad).toBeInstanceOf(FlashError);
      expect((err as FlashError).code).toBe('protocol');
    }
  });

  it('parses every layout in the part table', () => {
    for (const p of DFU_PARTS.filter((p) => p.dfuVersion === BCD_DFUSE)) for (const a of p.alts) expect(() => parseMemoryLayout(a)).not.toThrow();
  });
});

describe('DFU 1.1 descriptors and status', () => {
  it('parses the functional descriptor (table 4.2): attributes, detach timeout, transfer size, version', () => {
    const st = parseFunctionalDescriptor(encodeFunctionalDescriptor({ attributes: 0x0b, detachTimeoutMs: 255, transferSize: 2048, dfuVersion: BCD_DFUSE }));
    expect(st).toEqual({
      attributes: 0x0b,
      canDownload: true,
      canUpload: true,
      manifestationTolerant: false,
      willDetach: true,
      detachTimeoutMs: 255,
      transferSize: 2048,
      dfuVersion: 0x011a,
    });
    // The 7-byte DFU 1.0 form has no bcdDFUVersion.
    expect(parseFunctionalDescriptor(Uint8Array.of(7, 0x21, 0x07, 0xe8, 0x03, 0x00, 0x04))).toMatchObject({ dfuVersion: 0x0100, transferSize: 1024, manifestationTolerant: true });
    expect(parseFunctionalDescriptor(Uint8Array.of(9, 0x04, 0, 0, 0, 0, 0, 0, 0))).toBeNull();
  });

  it('walks a configuration descriptor: the alternate settings and the functional descriptor after the last one', () => {
    const alts = [0, 1].map((i) => [9, 4, 0, i, 0, 0xfe, 0x01, 0x02, 4 + i]);
    const functional = Array.from(encodeFunctionalDescriptor({ attributes: 0x0b, detachTimeoutMs: 255, transferSize: 2048, dfuVersion: BCD_DFUSE }));
    const total = 9 + 18 + 9;
    const cfg = Uint8Array.from([9, 2, total, 0, 1, 1, 0, 0xc0, 50, ...alts.flat(), ...functional]);
    const parsed = parseConfiguration(cfg);
    expect(parsed.alts.map((a) => [a.alternateSetting, a.interfaceProtocol, a.nameIndex])).toEqual([
      [0, 2, 4],
      [1, 2, 5],
    ]);
    expect(parsed.functional?.transferSize).toBe(2048);
    // A zero-length descriptor ends the walk instead of looping.
    expect(parseConfiguration(Uint8Array.from([9, 2, 12, 0, 1, 1, 0, 0xc0, 50, 0, 0, 0])).alts).toEqual([]);
  });

  it('encodes GETSTATUS with a 24-bit little-endian bwPollTimeout (§6.1.2)', () => {
    const bytes = encodeStatus({ status: 0, pollTimeoutMs: 0x012345, state: DFU_STATE.dfuDNBUSY, stringIndex: 0 });
    expect(Array.from(bytes)).toEqual([0, 0x45, 0x23, 0x01, 4, 0]);
    expect(parseStatus(bytes)).toEqual({ status: 0, pollTimeoutMs: 0x012345, state: 4, stringIndex: 0 });
    expect(stateName(DFU_STATE.dfuDNLOAD_IDLE)).toBe('dfuDNLOAD-IDLE');
    expect(statusName(0x0b)).toBe('errVENDOR');
  });

  it('builds DfuSe commands: Set Address and Erase carry a little-endian address, mass erase is one byte', () => {
    expect(Array.from(dfuseCommand(DFUSE_COMMAND.SET_ADDRESS_POINTER, 0x08004000))).toEqual([0x21, 0x00, 0x40, 0x00, 0x08]);
    expect(Array.from(dfuseCommand(DFUSE_COMMAND.ERASE))).toEqual([0x41]);
  });
});
