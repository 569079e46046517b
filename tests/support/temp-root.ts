import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/**
 * Vitest global setup: every temporary folder a test run makes (tempDir(), mkdtemp in helpers, browser
 * profiles, tools spawned by peer tests) goes under one root made here, because TMPDIR points at it
 * before any worker starts; the teardown removes the root, so a run leaves nothing in the system's temp
 * directory, whatever a test forgot to clean.
 */
const PREFIX = 'webprog-tests-';

export default function setup(): () => void {
  // Each Vitest project runs this setup: the first root serves them all. Nesting roots would push
  // Chromium's profile socket past the 108-byte limit of a Unix socket path.
  if (basename(tmpdir()).startsWith(PREFIX)) return () => {};
  const keys = ['TMPDIR', 'TMP', 'TEMP'] as const;
  const before = keys.map((k) => process.env[k]);
  const root = mkdtempSync(join(tmpdir(), PREFIX));
  for (const k of keys) process.env[k] = root;
  return () => {
    keys.forEach((k, i) => (before[i] === undefined ? delete process.env[k] : (process.env[k] = before[i])));
    rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  };
}
