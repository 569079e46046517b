import 'fake-indexeddb/auto';
import { expose, wrap, type Remote } from 'comlink';
import { createImage, writeImage } from '../../src/core/image/index';
import { openDriveLink, openHidLink, openLink, openUsbLink, reacquireSerialPort, reopenUsbLink } from '../../src/transports/index';
import { systemClock } from '../../src/transports/clock';
import type { FlasherApi } from '../../src/shared/api';
import type { Result } from '../../src/shared/errors';
import { createApi, type ApiDeps } from '../../src/worker/api';
import { localLocks } from '../../src/worker/sessions';
import { lazyDb } from '../../src/worker/storage/db';

let dbCounter = 0;

/** A fresh database name per test, so tests share nothing. */
export function freshDbName(): string {
  return `webprog-test-${process.pid}-${++dbCounter}`;
}

/**
 * createApi() behind comlink over an in-process MessageChannel: the same edge the page talks to, so
 * anything that would not survive structured cloning fails here too.
 */
export function connectApi(overrides: Partial<ApiDeps> = {}, dbName = freshDbName()) {
  const deps: ApiDeps = {
    db: lazyDb(dbName),
    clock: systemClock,
    now: () => Date.now(),
    openLink,
    openUsbLink,
  openHidLink,
  openDrive: openDriveLink,
    reopenUsbLink,
    reacquireSerialPort,
    locks: localLocks(),
    appVersion: 'test',
    ...overrides,
  };
  const { port1, port2 } = new MessageChannel();
  expose(createApi(deps), port1);
  const api = wrap<FlasherApi>(port2);
  return {
    api,
    dbName,
    close() {
      port1.close();
      port2.close();
    },
  };
}

export type RemoteApi = Remote<FlasherApi>;

/** An Intel HEX file with `size` bytes of flash from address 0, as a build would produce. */
export function makeHex(size: number, seed = 1): Uint8Array {
  const data = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  return writeImage(createImage('bin', [{ memory: 'flash', address: 0, data }]), 'hex');
}

export function buffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}

/** Unwraps a Result, failing the test with the error if it is one. */
export function ok<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected ok, got ${result.error.code}: ${result.error.message}`);
  return result.value;
}
