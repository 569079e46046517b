import { FlashError } from '../../shared/errors';
import type { FaultSpec } from '../../shared/model';
import type { Clock } from './clock';
import { transferFaults } from './faults';
import { hidLost, type HidDeviceModel, type HidPipe, type HidReport, type HidTransferOptions } from './hid-pipe';
import { anySignal } from './signal';

/*
 * The simulated side of the HID seam: a full-speed interrupt link between a host and a HidDeviceModel,
 * and a seeded fault decorator for any HidPipe.
 */

/** Full-speed interrupt endpoints with bInterval 1 move one report per 1 ms frame each way (USB 2.0 §5.7.4). */
const FRAME_MS = 1;
const DEFAULT_TIMEOUT_MS = 5000;

export interface SimulatedHidPipe extends HidPipe {
  /** Pulls the cable: pending and later calls fail with 'device-lost'. */
  unplug(): void;
}

/** Connects a host to a HID device model; each report waits for the next free frame in its direction. */
export function createHidPipe(model: HidDeviceModel, clock: Clock): SimulatedHidPipe {
  const queue: { report: HidReport; at: number }[] = [];
  const waiters = new Set<() => void>();
  let gone = false;
  let outFree = 0;
  let inFree = 0;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  const end = () => {
    if (gone) return;
    gone = true;
    resolveClosed();
    wake();
  };
  const nextFrame = (from: number) => Math.ceil(from / FRAME_MS) * FRAME_MS;
  model.connect({
    input(report, readyAt = clock.now()) {
      if (gone) return;
      const at = Math.max(nextFrame(readyAt), inFree);
      inFree = at + FRAME_MS;
      queue.push({ report: { reportId: report.reportId, data: report.data.slice() }, at });
      wake();
    },
    unplug: end,
  });
  const live = () => {
    if (gone) throw hidLost();
  };
  return {
    info: model.info,
    async sendReport(reportId, data, opts) {
      live();
      const at = Math.max(nextFrame(clock.now()), outFree);
      outFree = at + FRAME_MS;
      await clock.sleep(at + FRAME_MS - clock.now(), opts?.signal);
      live();
      model.output({ reportId, data: data.slice() }, clock.now());
    },
    async receiveReport(opts) {
      const deadline = clock.now() + (opts?.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      for (;;) {
        live();
        const first = queue[0];
        if (first && first.at <= clock.now()) return queue.shift()!.report;
        const until = Math.min(first ? first.at : Infinity, deadline);
        if (clock.now() >= deadline) throw new FlashError('timeout', 'The HID device sent no report in time.');
        // Sleep until the next report is due or the deadline, waking early if one arrives or the device goes.
        const stop = anySignal(opts?.signal);
        const early = () => stop.fire('woken');
        waiters.add(early);
        try {
          await clock.sleep(Math.max(0, until - clock.now()), stop);
        } catch (err) {
          if (opts?.signal?.aborted) throw err;
        } finally {
          waiters.delete(early);
          stop.dispose();
        }
      }
    },
    async sendFeatureReport(reportId, data) {
      live();
      const reply = model.setFeature?.({ reportId, data: data.slice() }, clock.now()) ?? { status: 'stall' as const };
      await clock.sleep(FRAME_MS);
      if (reply.status === 'stall') throw new FlashError('nak', `The HID device refused feature report ${reportId}.`);
    },
    async receiveFeatureReport(reportId) {
      live();
      const reply = model.getFeature?.(reportId, clock.now()) ?? { status: 'stall' as const };
      await clock.sleep(FRAME_MS);
      if (reply.status === 'stall') throw new FlashError('nak', `The HID device refused feature report ${reportId}.`);
      return reply.data?.slice() ?? new Uint8Array(0);
    },
    async close() {
      end();
    },
    closed,
    unplug: end,
  };
}

/**
 * Reproducible faults on a HID link: line noise becomes a lost report (USB's CRC drops it and an
 * interrupt transfer is not retried past its frame), `stallRate` delays a report by `stallMs`, and
 * `disconnectAfterBytes` pulls the cable once that many report bytes have moved.
 */
export function withHidFaults(inner: HidPipe & { unplug?: () => void }, spec: FaultSpec, clock: Clock): HidPipe {
  const faults = transferFaults(spec, clock, () => (inner.unplug ? inner.unplug() : inner.close()), () => hidLost());
  const lost = faults.hit;
  const account = faults.account;
  const delay = (opts?: HidTransferOptions) => faults.stall(opts?.signal);
  return {
    info: inner.info,
    async sendReport(reportId, data, opts) {
      await delay(opts);
      await account(data.length);
      if (lost(data.length)) return; // the device never sees it; the driver's answer wait times out
      await inner.sendReport(reportId, data, opts);
    },
    async receiveReport(opts) {
      for (;;) {
        await delay(opts);
        const report = await inner.receiveReport(opts);
        await account(report.data.length);
        if (!lost(report.data.length)) return report;
      }
    },
    sendFeatureReport: (id, data, opts) => inner.sendFeatureReport(id, data, opts),
    receiveFeatureReport: (id, opts) => inner.receiveFeatureReport(id, opts),
    close: () => inner.close(),
    closed: inner.closed,
  };
}
