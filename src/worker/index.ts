import { expose } from 'comlink';
import { openDriveLink, openHidLink, openLink, openUsbLink, reacquireSerialPort, reopenUsbLink } from '../transports/index';
import type { FlasherApi } from '../shared/api';
import { createApi } from './api/index';
import { createWorkerClock } from './clock';
import { localLocks, webLocks } from './sessions';
import { lazyDb } from './storage/db';

declare const __APP_VERSION__: string | undefined;

const api: FlasherApi = createApi({
  db: lazyDb(),
  // One scheduler for all of this worker's sleepers: a station puts many virtual boards in one worker.
  clock: createWorkerClock(),
  now: () => Date.now(),
  openLink,
  openUsbLink,
  openHidLink,
  openDrive: openDriveLink,
  reopenUsbLink,
  reacquireSerialPort,
  locks: 'locks' in navigator && navigator.locks ? webLocks(navigator.locks) : localLocks(),
  appVersion: typeof __APP_VERSION__ === 'string' ? __APP_VERSION__ : 'dev',
});

// The only expose() in the project.
expose(api);
