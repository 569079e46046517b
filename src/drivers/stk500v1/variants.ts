/**
 * Arduino STK500 v1 bootloaders and the behaviour that differs between them. Used by the simulator
 * to model each one and by the driver to decide what is safe to send.
 */
export interface BootloaderVariant {
  id: string;
  label: string;
  baudRate: number;
  /** GET_PARAMETER SW_MAJOR / SW_MINOR answers. */
  swMajor: number;
  swMinor: number;
  bootSize: number;
  /**
   * What PROG_PAGE / READ_PAGE with memtype 'E' do: optiboot < 6 ignores the memtype and uses FLASH
   * (so sending 'E' would corrupt the application). Optiboot >= 6 built without SUPPORT_EEPROM spins
   * until the watchdog resets; the driver cannot tell those builds apart and explains the timeout.
   */
  eeprom: 'supported' | 'writes-flash';
  /** optiboot >= 5 arms a 16 ms watchdog on LEAVE_PROGMODE; older ones wait for the 1 s idle timeout. */
  fastLeave: boolean;
  /** A malformed frame: optiboot resets via the watchdog; ATmegaBOOT ignores up to 5 of them. */
  badFrame: 'reset' | 'ignore';
  /** ATmegaBOOT answers PROG_PAGE with INSYNC only after programming; optiboot as soon as the frame ends. */
  insyncAfterWrite: boolean;
}

export const VARIANTS: Record<string, BootloaderVariant> = {
  optiboot: {
    id: 'optiboot',
    label: 'Optiboot 4.4 (Arduino Uno stock)',
    baudRate: 115200,
    swMajor: 4,
    swMinor: 4,
    bootSize: 512,
    eeprom: 'writes-flash',
    fastLeave: false,
    badFrame: 'reset',
    insyncAfterWrite: false,
  },
  optiboot8: {
    id: 'optiboot8',
    label: 'Optiboot 8.3 with EEPROM support (MiniCore)',
    baudRate: 115200,
    swMajor: 8,
    swMinor: 3,
    bootSize: 1024,
    eeprom: 'supported',
    fastLeave: true,
    badFrame: 'reset',
    insyncAfterWrite: false,
  },
  atmegaboot: {
    id: 'atmegaboot',
    label: 'ATmegaBOOT (Nano / Duemilanove "old bootloader")',
    baudRate: 57600,
    swMajor: 1,
    swMinor: 0x10,
    bootSize: 2048,
    eeprom: 'supported',
    fastLeave: false,
    badFrame: 'ignore',
    insyncAfterWrite: true,
  },
};

/**
 * What the driver can infer from the version answers. ATmegaBOOT reports 1.16; optiboot its own
 * version. Unknown optiboot builds get the largest boot section we know of (safe side).
 */
export function variantFromVersion(major: number, minor: number): BootloaderVariant {
  if (major === 1 && minor === 0x10) return VARIANTS.atmegaboot!;
  if (major >= 4 && major < 6) return { ...VARIANTS.optiboot!, label: `Optiboot ${major}.${minor}`, swMajor: major, swMinor: minor };
  return {
    ...VARIANTS.optiboot8!,
    id: `optiboot${major}`,
    label: `Optiboot ${major}.${minor}`,
    swMajor: major,
    swMinor: minor,
  };
}
