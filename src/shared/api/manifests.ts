import type { Result } from '../errors';
import type { JobEvent } from '../events';
import type { JobReport } from '../model';
import type { FirmwareFile, JobSpec } from './jobs';

/*
 * One concern of the comlink surface between the page and the flasher worker (see ./index.ts for the
 * rules every member keeps and for FlasherApi, the composition of all concerns).
 */

/** Where a manifest comes from: a URL (its parts are fetched beside it), or files the user picked. */
export type ManifestSource =
  | { kind: 'url'; url: string; key?: string }
  /** The manifest file and its part files; parts are matched by path, else by file name. */
  | { kind: 'files'; manifest: FirmwareFile; parts: FirmwareFile[]; key?: string };
// `key`: the vendor's Ed25519 public key (base64url) pinned by the link or embed: the manifest must
// then carry a signature by that key, and every part a SHA-256 (README, "Manifests").

/** A manifest as the install screen shows it. */
export interface ManifestSummary {
  /** SHA-256 of the manifest file: how `install` names it, and the "file" in History. */
  manifestSha256: string;
  name: string;
  version?: string;
  /** The vendor's release notes ("release_notes" or "whats_new"), a small markdown subset (shared/release-notes.ts). */
  whatsNew?: string;
  /** The manifest URL, or the file name. */
  source: string;
  /** 'verified' against the key the link pinned; 'not-checked' when signed but no key was pinned. */
  signature: 'verified' | 'not-checked' | 'unsigned';
  /** The drivers (protocols) the builds are for, in the manifest's order: the first is the default. */
  drivers: string[];
  builds: {
    driver: string;
    /** How the build is named: its ESP chip family, else the device it is for, else its driver. */
    chipFamily: string;
    parts: { path: string; offset: number }[];
    /** Part paths neither picked as files nor fetchable (no URL): this build cannot be installed as is. */
    missing: string[];
  }[];
}

export interface InstallReport extends JobReport {
  /** The build that was written: its name (chip family or device), its parts, and the SHA-256 of the assembled image. */
  build: { chipFamily: string; parts: { path: string; offset: number; size: number }[]; imageSha256: string; imageBytes: number };
}

/** Firmware manifests, ESP Web Tools' and webprog's superset (a vendor's "install" link). */
export interface ManifestsApi {
  /** Reads a manifest from its URL (same-origin or CORS) or from picked files, and keeps it for `install`. */
  loadManifest(source: ManifestSource): Promise<Result<ManifestSummary>>;
  /**
   * Installs a loaded manifest (named by `spec.firmware.fileSha256` = its `manifestSha256`) in one
   * session: connect, identify the chip, pick the build for it, write its parts, verify. Recorded in
   * History like a flash job.
   */
  install(spec: JobSpec, onEvent: (event: JobEvent) => void): Promise<Result<InstallReport>>;
}
