/**
 * Faulty-line figures (issue 11): a line flipping one bit per 4 KiB on average, in one direction only,
 * 20 seeded runs per serial protocol (16 KiB image each, virtual device at its real baud). Not a test: it prints.
 *
 *  - read-back direction (device → host): false alarms, jobs that did not end Verified though the chip
 *    holds the image (target 0);
 *  - write direction (host → device): recoveries, jobs that ended Verified with the image in the chip
 *    (target >= 90 % where the protocol checksums its writes: AN3155, ESP SLIP+checksum), failures that
 *    name the address, and false successes, Verified over wrong data (must be 0).
 *
 * Run alone with `npx tsx scripts/bench-faults.ts`, or `npm run bench -- faults`.
 */
import { flashOverFaultyLine, ONE_BIT_PER_4KIB, SERIAL_PROTOCOLS } from '../tests/support/faulty-line';

const RUNS = Number(process.env.BENCH_FAULT_RUNS ?? 20);
const SIZE = 16 * 1024;

export async function benchFaults(): Promise<void> {
  console.log(`Line flipping 1 bit per 4 KiB, ${RUNS} seeded runs per protocol and direction, ${SIZE / 1024} KiB image`);
  console.log('protocol      read-back faults: false alarms | write faults: verified, failed naming the address, other failures, false successes');
  for (const driverId of SERIAL_PROTOCOLS) {
    let falseAlarms = 0;
    const alarms: string[] = [];
    for (let seed = 1; seed <= RUNS; seed++) {
      const { outcome, intact } = await flashOverFaultyLine(driverId, { seed, bitFlipRate: ONE_BIT_PER_4KIB, direction: 'to-host' }, SIZE);
      if (!('report' in outcome && outcome.report.verified) && intact) {
        falseAlarms++;
        if ('error' in outcome) alarms.push(`seed ${seed}: ${outcome.error.code} ${outcome.error.message}`);
      }
    }
    let verified = 0;
    let named = 0;
    let other = 0;
    let falseSuccess = 0;
    const others: string[] = [];
    for (let seed = 1; seed <= RUNS; seed++) {
      const { outcome, intact } = await flashOverFaultyLine(driverId, { seed: 1000 + seed, bitFlipRate: ONE_BIT_PER_4KIB, direction: 'to-device' }, SIZE);
      if ('report' in outcome) {
        if (outcome.report.verified && intact) verified++;
        else falseSuccess++;
      } else if (typeof outcome.error.details.address === 'number') named++;
      else {
        other++;
        others.push(`seed ${1000 + seed}: ${outcome.error.code} ${outcome.error.message}`);
      }
    }
    const pct = (n: number) => `${Math.round((100 * n) / RUNS)} %`;
    console.log(`${driverId.padEnd(13)} ${String(falseAlarms).padStart(2)} / ${RUNS} false alarms | ${verified} / ${RUNS} verified (${pct(verified)}), ${named} named, ${other} other, ${falseSuccess} false successes`);
    for (const line of [...alarms, ...others]) console.log(`              ${line}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchFaults();
