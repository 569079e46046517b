import { describe, expect, it } from 'vitest';
import { systemClock } from '../../transports/clock';
import type { DriveDevicePort, DriveFile, DriveModel } from './drive';
import { createDriveHandle, withDriveFaults } from './drive-bus';

const clock = systemClock;

/** A drag-and-drop bootloader in miniature: INFO.TXT, and a written FIRMWARE.BIN is "flashed", then the device reboots. */
class TinyDrive implements DriveModel {
  readonly info = { label: 'TINYBOOT' };
  flashed: Uint8Array | null = null;
  private port: DriveDevicePort | null = null;
  private readonly extra = new Map<string, Uint8Array>([['INFO.TXT', new TextEncoder().encode('TinyBoot 1.0\n')]]);
  connect(port: DriveDevicePort): void {
    this.port = port;
  }
  files(): DriveFile[] {
    return [...this.extra].map(([name, data]) => ({ name, size: data.length }));
  }
  readFile(name: string): Uint8Array | null {
    return this.extra.get(name) ?? null;
  }
  writeFile(name: string, data: Uint8Array, at: number): void {
    if (name !== 'FIRMWARE.BIN') {
      this.extra.set(name, data);
      return;
    }
    this.flashed = data;
    this.port!.eject(at + 30);
  }
}

describe('the simulated drive', () => {
  it('lists, reads and writes files at mass-storage speed, and a missing file is not-found', async () => {
    const model = new TinyDrive();
    const drive = createDriveHandle(model, clock);
    expect(drive.info.label).toBe('TINYBOOT');
    expect(await drive.list()).toEqual([{ name: 'INFO.TXT', size: 13 }]);
    expect(new TextDecoder().decode(await drive.read('INFO.TXT'))).toBe('TinyBoot 1.0\n');
    await expect(drive.read('CURRENT.UF2')).rejects.toMatchObject({ code: 'not-found' });
    const start = clock.now();
    await drive.write('NOTES.TXT', new Uint8Array(20_000));
    expect(clock.now() - start).toBeGreaterThanOrEqual(20); // ~1 MB/s
    expect((await drive.list()).map((f) => f.name)).toEqual(['INFO.TXT', 'NOTES.TXT']);
  });

  it('goes away when the bootloader reboots after the copy: closed resolves, later calls are device-lost', async () => {
    const model = new TinyDrive();
    const drive = createDriveHandle(model, clock);
    const data = Uint8Array.from({ length: 4096 }, (_, i) => i & 0xff);
    await drive.write('FIRMWARE.BIN', data);
    expect(model.flashed).toEqual(data);
    await drive.closed;
    await expect(drive.list()).rejects.toMatchObject({ code: 'device-lost' });
  });

  it('injects faults by seed: an I/O error on noise, the cable pulled after N bytes', async () => {
    const noisy = withDriveFaults(createDriveHandle(new TinyDrive(), clock), { seed: 2, bitFlipRate: 0.01 }, clock);
    await expect(noisy.write('A.BIN', new Uint8Array(4096))).rejects.toMatchObject({ code: 'bad-checksum' });
    const cut = withDriveFaults(createDriveHandle(new TinyDrive(), clock), { seed: 1, disconnectAfterBytes: 1000 }, clock);
    await cut.write('A.BIN', new Uint8Array(600));
    await expect(cut.write('B.BIN', new Uint8Array(600))).rejects.toMatchObject({ code: 'device-lost' });
  });
});
