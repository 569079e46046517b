import type { InspectorApi } from '../../shared/api';
import { Inspector } from '../inspector';
import { guard, type WorkerContext } from './context';

export function inspectorApi(ctx: WorkerContext): InspectorApi {
  // The inspector's files stay out of the job cache: looking at a file does not make it the next job's.
  const inspector = new Inspector({
    parse: (file) => ctx.firmware.load(file, false),
    fromLibrary: (fileSha256) => ctx.firmware.get(fileSha256, false),
  });
  return {
    openImage: (slot, source) => guard(() => inspector.open(slot, source)),
    closeImage: (slot) => guard(async () => inspector.close(slot)),
    readImageBytes: (request) => guard(async () => inspector.read(request)),
    diffImages: () => guard(async () => inspector.diff()),
    findDifference: (from, direction) => guard(async () => inspector.step(from, direction)),
  };
}
