import { chipsByRdid, findSpiNorChip, isLowVoltage, isNoChipId, jedecHex } from '../../chips/spi-nor/index';
import { chipFromSfdp, readSfdp } from '../../chips/spi-nor/sfdp';
import type { SpiNorChip } from '../../chips/spi-nor/types';
import { FlashError } from '../../shared/errors';
import type { BlockConstraints, Driver, DriverContext, Identified } from '../types';
import { SerprogClient, type ProgrammerInfo, type SpiTransaction } from './client';
import { NorFlash, readJedecId, sfdpReader, statusText, type SpiBus } from './nor-flash';
import { parseHz, parseTarget, type TargetSpec } from './target';
import { hasConsent } from '../../core/job/options';

/** SPI clock asked for when the selection names none; identify() lowers it to the part's READ limit. */
const DEFAULT_SPI_HZ = 16_000_000;
/** Times a block is tried again after a garbled answer, before the error is reported. */
const LINK_RETRIES = 2;
/** A resync may have to flush a long garbled command first, so it gets longer than connect's. */
const RESYNC_WINDOW_MS = 6000;
/** Largest block core hands to writeBlock/readBlock: one 64 KiB erase block. */
const MAX_BLOCK = 64 * 1024;

/**
 * serprog programmer + SPI NOR part. connect() synchronises with the programmer and runs its init;
 * identify() reads the part's ID (table first, SFDP for parts not in it) and refuses anything but
 * the chosen part before a single byte is written. writeBlock erases what the block needs with
 * the quickest aligned erases, then programs its non-blank pages.
 *
 * Write protection is never cleared silently: with block-protect bits set, writeBlock and erase
 * refuse unless the selection carries `+unprotect` (see target.ts).
 */
export class SerprogDriver implements Driver {
  private readonly client: SerprogClient;
  private readonly target: TargetSpec;
  private programmer: ProgrammerInfo | null = null;
  private nor: NorFlash | null = null;
  private writable = false;

  constructor(private readonly ctx: DriverContext) {
    this.client = new SerprogClient(ctx);
    this.target = parseTarget(ctx.targetId);
    // Declared options (--option spi=8M cs=1) and the +spi=/+cs= part suffixes mean the same.
    const o = ctx.options ?? {};
    if (o.spi !== undefined) this.target.spiHz = parseHz(o.spi);
    if (o.cs !== undefined) this.target.cs = Number(o.cs);
  }

  async connect(): Promise<void> {
    if (this.ctx.baudRate) await this.ctx.stream.setBaud(this.ctx.baudRate);
    await this.client.sync();
    this.programmer = await this.client.init({ spiHz: this.target.spiHz ?? DEFAULT_SPI_HZ, cs: this.target.cs });
    const p = this.programmer;
    this.ctx.log(
      'info',
      `Programmer "${p.name}": serprog v1, buffer ${p.serialBuffer} bytes` + (p.spiHz ? `, SPI ${(p.spiHz / 1e6).toFixed(p.spiHz % 1e6 ? 2 : 0)} MHz.` : '.'),
    );
  }

  async identify(): Promise<Identified> {
    const bus = this.bus();
    const wanted = this.target.chip ? findSpiNorChip(this.target.chip) : undefined;
    if (this.target.chip && !wanted) {
      throw new FlashError('not-found', `Unknown SPI flash part "${this.target.chip}".`, {
        hint: 'Use a part name from the list (for example W25Q16, MX25L6406E, GD25Q32), or leave the part out to detect it.',
      });
    }
    const rdid = await readJedecId(bus);
    const idHex = jedecHex((rdid[0]! << 16) | (rdid[1]! << 8) | rdid[2]!);
    if (isNoChipId(rdid)) {
      throw new FlashError('no-chip', `No chip detected: the programmer reads ID ${idHex} (nothing answers on MISO).`, {
        hint: 'Check the chip orientation (pin 1 mark) and the contact of the socket or clip; a clip on a powered board may need the board held in reset.',
        details: { actual: idHex },
      });
    }
    const again = await readJedecId(bus);
    if (again.subarray(0, 3).some((b, i) => b !== rdid[i])) {
      const againHex = jedecHex((again[0]! << 16) | (again[1]! << 8) | again[2]!);
      throw new FlashError('wrong-target', `The chip ID reads differently twice (${idHex}, then ${againHex}): bad contact.`, {
        hint: 'Reseat the chip or the clip, clean the pins, and keep the wires short; nothing was written.',
        details: { first: idHex, second: againHex },
      });
    }
    const known = chipsByRdid(rdid);
    let chip: SpiNorChip;
    if (wanted) {
      if (!known.some((c) => c.id === wanted.id)) {
        const found = known[0];
        throw new FlashError(
          'wrong-target',
          `The socket holds ${found ? found.id : 'an unknown part'} (ID ${idHex}), but ${wanted.id} (ID ${jedecHex(wanted.jedecId)}) was selected.`,
          {
            hint: found
              ? `Select ${found.id} if that is the part you meant, or put the right chip in the socket; nothing was written.`
              : 'Check the part number on the chip and its orientation; nothing was written.',
            details: { expected: jedecHex(wanted.jedecId), actual: idHex },
          },
        );
      }
      chip = wanted;
    } else if (known.length > 0) {
      chip = known[0]!;
      if (known.length > 1) this.ctx.log('info', `ID ${idHex} also matches ${known.slice(1).map((c) => c.id).join(', ')}; using ${chip.id}.`);
    } else {
      const info = await readSfdp(sfdpReader(bus));
      if (!info) {
        throw new FlashError('unsupported', `Unknown SPI flash part (ID ${idHex}) without SFDP tables.`, {
          hint: 'webprog cannot tell its size and erase layout: select the part by name if it is a relabelled one, or report its part number.',
          details: { actual: idHex },
        });
      }
      chip = chipFromSfdp(rdid, info);
      this.ctx.log('warn', `Part ${idHex} is not in webprog's table; using its SFDP tables (${info.size} bytes, erase ${info.erase.map((e) => e.size / 1024 + 'K').join('/')}).`);
    }
    if (isLowVoltage(chip)) {
      this.ctx.log('warn', `${chip.id} is a ${chip.voltage[0] / 1000}-${chip.voltage[1] / 1000} V part: use a 1.8 V adapter, 3.3 V will damage it.`);
    }
    // Plain READ (03h) has the lowest clock limit of the commands used: stay under it.
    if (this.programmer?.spiHz && this.programmer.spiHz > chip.maxReadMHz * 1e6) await this.client.setSpiClock(chip.maxReadMHz * 1e6);
    this.nor = new NorFlash(bus, chip, this.ctx);
    const protection = await this.nor.protection();
    if (protection.protected) {
      this.ctx.log('warn', `${chip.id} has block protection set (${statusText(protection)}): writing needs consent (+unprotect).`);
    }
    return {
      device: {
        id: idHex,
        name: chip.id,
        bootloader: `${this.programmer?.name ?? 'serprog'} (serprog v1${this.programmer?.spiHz ? `, SPI ${Math.round(this.programmer.spiHz / 1e5) / 10} MHz` : ''})`,
        ...(this.ctx.baudRate ? { baudRate: this.ctx.baudRate } : {}),
      },
      memories: [{ name: 'flash', base: 0, size: chip.size, pageSize: chip.erase[0]?.size ?? chip.size, reserved: [] }],
    };
  }

  constraints(memory: string): BlockConstraints {
    const chip = this.requireNor(memory).chip;
    const unit = chip.erase[0]?.size ?? chip.size;
    return { pageSize: unit, maxBlock: Math.max(unit, MAX_BLOCK), fill: 0xff };
  }

  async writeBlock(memory: string, address: number, data: Uint8Array): Promise<void> {
    const nor = this.requireNor(memory);
    await this.ensureWritable(nor);
    // Erase and program are idempotent for one block: after a garbled answer, doing it all again is safe.
    await this.retrying(nor, async () => {
      await nor.eraseRange(address, data.length);
      await nor.program(address, data);
    });
  }

  async readBlock(memory: string, address: number, length: number): Promise<Uint8Array> {
    const nor = this.requireNor(memory);
    return this.retrying(nor, () => nor.read(address, length));
  }

  async erase(): Promise<void> {
    const nor = this.requireNor('flash');
    await this.ensureWritable(nor);
    await this.retrying(nor, () => nor.eraseChip());
  }

  async close(): Promise<void> {
    try {
      await this.nor?.finish();
      await this.client.release();
    } catch (err) {
      this.ctx.log('debug', `Releasing the programmer failed: ${(err as Error).message}`);
    }
  }

  /**
   * Runs `op`, and after a garbled or missing answer (noise on the link, a dropped byte) resyncs
   * with the programmer, waits for the part to finish what it was doing, and runs it again.
   * Failures the part itself causes, and a lost device, are not retried.
   */
  private async retrying<T>(nor: NorFlash, op: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await op();
      } catch (err) {
        const linkError = err instanceof FlashError && (err.code === 'timeout' || err.code === 'protocol' || err.code === 'nak');
        if (!linkError || attempt >= LINK_RETRIES || this.ctx.signal.aborted) throw err;
        this.ctx.log('warn', `${err.message} Resynchronising with the programmer and trying again.`);
        await this.client.sync(RESYNC_WINDOW_MS);
        await nor.waitReady(1, nor.chip.chipErase?.maxMs ?? 60_000, 'after the link error');
      }
    }
  }

  /** Refuses a protected part unless the user consented, and then clears and re-checks it. */
  private async ensureWritable(nor: NorFlash): Promise<void> {
    if (this.writable) return;
    const state = await nor.protection();
    if (state.protected) {
      if (!this.target.options.has('unprotect') && !hasConsent(this.ctx.options, 'unprotect')) {
        throw new FlashError('write-protected', `${nor.chip.id} is write-protected (${statusText(state)}: block-protect bits set); nothing was written.`, {
          hint: `To clear the protection bits, run again with consent (CLI: --consent unprotect, or --chip ${nor.chip.id}+unprotect).`,
          details: { sr1: state.sr1, sr2: state.sr2 },
        });
      }
      await nor.unprotect();
    }
    this.writable = true;
  }

  private requireNor(memory: string): NorFlash {
    if (memory !== 'flash') throw new FlashError('unsupported', `An SPI flash has no "${memory}" memory.`);
    if (!this.nor) throw new FlashError('internal', 'identify() must run before programming.');
    return this.nor;
  }

  private bus(): SpiBus {
    const info = this.programmer;
    if (!info) throw new FlashError('internal', 'connect() must run before identify().');
    const client = this.client;
    return {
      transfer: (ops: readonly SpiTransaction[]) => client.spi(ops),
      maxWrite: info.writeMax ?? 0,
      maxRead: info.readMax ?? 0,
    };
  }
}

export function createDriver(ctx: DriverContext): Driver {
  return new SerprogDriver(ctx);
}

