import { createHash } from 'node:crypto';
import { seededBytes, vendorSite } from './vendor';

/**
 * A vendor's site with an ESP32 update, and the app's customer links to it: `good` (one part, its size
 * and SHA-256 given) and `broken` (a missing part the host answers with its web page).
 */
export async function vendorLinks(appOrigin: string): Promise<{ good: string; broken: string; stop: () => Promise<void> }> {
  const part = seededBytes(8192, 5);
  const sha256 = createHash('sha256').update(part).digest('hex');
  const build = (path: string, extra: object) => ({ name: 'Acme Sensor', version: '1.2.0', builds: [{ chipFamily: 'ESP32', parts: [{ path, offset: 0x10000, ...extra }] }] });
  const webPage = '<!doctype html><html lang="en"><head><title>Acme</title></head><body><div id="app"></div></body></html>\n'.repeat(4);
  const site = await vendorSite(
    { '/fw/good.json': JSON.stringify(build('app.bin', { sha256, size: part.length })), '/fw/broken.json': JSON.stringify(build('missing.bin', {})), '/fw/app.bin': part },
    { fallback: webPage },
  );
  const link = (name: string) => `${appOrigin}/?manifest=${encodeURIComponent(`${site.origin}/fw/${name}`)}`;
  return { good: link('good.json'), broken: link('broken.json'), stop: () => site.stop() };
}
