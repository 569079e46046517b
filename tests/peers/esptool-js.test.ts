import { describe, expect, it } from 'vitest';
import { buildEspImage } from '../support/image-fixtures';
import { sha256 } from '../../src/core/bytes/sha256';
import { flashWithEsptoolJs, flashWithWebprog, halfCompressibleFirmware, hostEsp, readWithWebprog } from '../../scripts/bench-esp';

/**
 * Espressif's own host, esptool-js from npm, run in Node against our simulator on a PTY through a
 * Web Serial SerialPort adapter over node-serialport. It must detect the chip, upload its flasher stub,
 * raise the baud rate, write compressed, and pass its MD5 check; what it wrote must then read back
 * through webprog byte for byte. This proves the simulator against code nobody here wrote.
 */
describe('esptool-js (npm) against the esp-rom simulator on a PTY', () => {
  it.each([
    ['esp32', 0x1000, 0],
    ['esp32s3', 0x0, 9],
    ['esp32c3', 0x0, 5],
  ] as const)('%s: detects, loads its stub, writes compressed, its MD5 check passes, and webprog reads it back', async (part, bootAt, chipId) => {
    const board = await hostEsp(part, '4MB');
    try {
      const bootloader = buildEspImage({ chipId, segments: [{ address: 0x3fff0000, data: halfCompressibleFirmware(9000, 1) }], sha256 });
      const app = halfCompressibleFirmware(96 * 1024, 2);
      const parts = [
        { data: bootloader, address: bootAt },
        { data: app, address: 0x10000 },
      ];
      const r = await flashWithEsptoolJs(board.path, parts, 921600);
      const log = r.log.join('\n');
      expect(r.chip).toContain(part === 'esp32' ? 'ESP32' : part === 'esp32s3' ? 'ESP32-S3' : 'ESP32-C3');
      expect(log).toContain('Stub running');
      expect(log).toContain('Changing baudrate to 921600');
      expect(log).toMatch(/Compressed 98304 bytes to \d+/);
      expect(log.match(/Hash of data verified/g)).toHaveLength(2);
      expect(board.sim.stats.stubStarts).toBe(1);
      expect(board.sim.stats.overruns).toBe(0);

      const back = await readWithWebprog(board.path, 0x10000, app.length, 921600);
      expect(Buffer.from(back).equals(Buffer.from(app))).toBe(true);
      const boot = await readWithWebprog(board.path, bootAt, bootloader.length, 921600);
      expect(Buffer.from(boot).equals(Buffer.from(bootloader))).toBe(true);
    } finally {
      await board.stop();
    }
  });

  it('webprog finds the stub esptool-js left running on a port without DTR/RTS, and flashes through it', async () => {
    const board = await hostEsp('esp32', '4MB');
    try {
      const first = halfCompressibleFirmware(30_000, 3);
      const r = await flashWithEsptoolJs(board.path, [{ data: first, address: 0x30000 }], 921600);
      expect(r.log.join('\n')).toContain('Hash of data verified');
      const second = halfCompressibleFirmware(20_000, 4);
      const w = await flashWithWebprog(board.path, [{ memory: 'flash', address: 0x20000, data: second }], 921600);
      expect(w.report.verified).toBe(true);
      expect(w.log.join('\n')).toContain('flasher stub already running');
      expect(board.sim.stats.stubStarts).toBe(1);
      expect(Buffer.from(board.sim.flash.subarray(0x20000, 0x20000 + second.length)).equals(Buffer.from(second))).toBe(true);
      expect(Buffer.from(board.sim.flash.subarray(0x30000, 0x30000 + first.length)).equals(Buffer.from(first))).toBe(true);
    } finally {
      await board.stop();
    }
  });
});
