import type { Result } from '../errors';
import type { JobEvent } from '../events';
import type { DeviceSelector, JobOptions, JobReport } from '../model';
import type { TextExport } from './history';

/*
 * One concern of the comlink surface between the page and the flasher worker (see ./index.ts for the
 * rules every member keeps and for FlasherApi, the composition of all concerns).
 */

/**
 * A recipe's serial numbering, JSON-safe: numbers travel as decimal strings so 64-bit serials and
 * 48-bit MACs stay exact. See core/production/serialize.ts for the formats.
 */
export interface SerialSettings {
  /**
   * The counter's name. Recipes naming the same pool share its numbers, so a number is never handed
   * out twice even across products; by default a recipe's pool is its own ID.
   */
  pool: string;
  memory: string;
  address: number;
  /** u16le u16be u32le u32be u64le u64be mac ascii-dec:W ascii-hex:W bcd:W */
  format: string;
  source: { kind: 'counter'; start: string; step: string } | { kind: 'list'; values: string[]; name?: string };
  crc?: { algorithm: 'crc32' | 'crc16-ccitt'; from: number; to: number; at: number; format: 'u16le' | 'u16be' | 'u32le' | 'u32be' };
  /** Write the serial over code/data the image has at that address; refused without it (only erased space is used). */
  overwrite?: boolean;
}

/** A simple lock: an engineer's PIN, kept salted and hashed. It stops edits, not determined people. */
export interface RecipeLock {
  salt: string;
  pinSha256: string;
  lockedAt: number;
}

/** Everything a changeover needs: what to program, how, and which number each device gets. */
export interface Recipe {
  id: string;
  name: string;
  driverId: string;
  targetId?: string;
  /** The board the recipe was made for, shown to the operator. */
  board?: string;
  /** The image, by SHA-256 of the file, from the library. */
  firmware: { fileSha256: string; name: string };
  options: JobOptions;
  serial?: SerialSettings;
  /** The device must answer with this ID (hex, e.g. '1e950f') or nothing is written. */
  expectedDeviceId?: string;
  notes?: string;
  lock?: RecipeLock;
  createdAt: number;
  updatedAt: number;
  /** Counts up with every saved change; jobs and History name the revision they ran. */
  revision: number;
}

/** A recipe as the editor sends it; the worker keeps the lock, times and revision. */
export type RecipeDraft = Omit<Recipe, 'id' | 'lock' | 'createdAt' | 'updatedAt' | 'revision'> & { id?: string };

/** What the barcode reader captured for the next device(s). */
export interface ScanContext {
  lot?: string;
  workOrder?: string;
  boardId?: string;
}

/** One device in a station slot, programmed by a stored recipe (the worker reads the recipe itself). */
export interface StationJobSpec {
  jobId: string;
  recipeId: string;
  /** The revision the station showed; a recipe changed since is refused rather than run unseen. */
  recipeRevision?: number;
  device: DeviceSelector;
  deviceLabel: string;
  station: string;
  slot: string;
  attempt?: number;
  scan?: ScanContext;
  /** As in JobSpec. */
  expectedPortCount?: number;
  /** Gap between progress events; a station of many slots asks for fewer than a single job. */
  progressIntervalMs?: number;
}

/** A station job reports its serial as soon as it is reserved, before the device is touched. */
export type StationEvent = JobEvent | { type: 'serial'; value: string; text: string };

export interface StationReport extends JobReport {
  serial?: string;
}

export type SerialStatus = 'reserved' | 'used' | 'unverified' | 'voided';

/** One number handed out: reserved before programming, then used or voided, never handed out again. */
export interface SerialRecord {
  pool: string;
  /** Decimal. */
  value: string;
  /** As written (MAC, hex or decimal). */
  text: string;
  status: SerialStatus;
  slot: string;
  jobId: string;
  reservedAt: number;
  settledAt?: number;
  note?: string;
}

export interface SerialPoolStatus {
  pool: string;
  /** The number the next device would get, or null when an imported list is used up. */
  next: string | null;
  nextText: string | null;
  used: number;
  voided: number;
  reserved: number;
  /** For an imported list: numbers not handed out yet. */
  left?: number;
}

/** The MES delivery queue. */
export interface MesStatus {
  url: string | null;
  /** Records waiting to be delivered. */
  pending: number;
  /** The oldest waiting record has failed at least once. */
  failing: boolean;
  lastError?: string;
  nextAttemptAt?: number;
  delivered: number;
}

/** The production station: recipes, serial numbers, station jobs and MES delivery. */
export interface ProductionApi {
  /**
   * Programs one device with a stored recipe: reserves its serial (never reused), records it in the
   * audit log before the device is touched, writes the serialized image, verifies, settles the serial
   * as used or voided, and queues the record for the MES when one is set.
   */
  runRecipe(spec: StationJobSpec, onEvent: (event: StationEvent) => void): Promise<Result<StationReport>>;

  listRecipes(): Promise<Result<Recipe[]>>;
  /** Creates or updates a recipe. A locked recipe needs its PIN, and stays locked. */
  saveRecipe(draft: RecipeDraft, pin?: string): Promise<Result<Recipe>>;
  deleteRecipe(recipeId: string, pin?: string): Promise<Result<boolean>>;
  lockRecipe(recipeId: string, pin: string): Promise<Result<Recipe>>;
  unlockRecipe(recipeId: string, pin: string): Promise<Result<Recipe>>;
  /** Whether the PIN opens this recipe for editing. */
  checkRecipePin(recipeId: string, pin: string): Promise<Result<boolean>>;
  /** The recipe as JSON, with its firmware embedded so another station can import it in one file. */
  exportRecipe(recipeId: string): Promise<Result<TextExport>>;
  importRecipe(text: string): Promise<Result<Recipe>>;
  /** Reads an imported serial list (CSV or one per line: decimal, 0x-hex or MAC) into decimal strings. */
  readSerialList(text: string): Promise<Result<string[]>>;

  /** Numbers handed out, newest first. */
  listSerials(query?: { pool?: string; limit?: number }): Promise<Result<SerialRecord[]>>;
  serialStatus(recipeId: string): Promise<Result<SerialPoolStatus | null>>;

  mesStatus(): Promise<Result<MesStatus>>;
  /** Tries to deliver every waiting record now instead of at its backoff time. */
  retryMes(): Promise<Result<MesStatus>>;
}

/**
 * The recipe, if any, other than `ownId` already called `name`. Names are unique without regard to
 * case and spacing: the operator picks a recipe by its name, so two alike would be a coin toss.
 */
export function recipeNamedLike(name: string, recipes: readonly Pick<Recipe, 'id' | 'name'>[], ownId?: string): Pick<Recipe, 'id' | 'name'> | undefined {
  const key = (n: string) => n.trim().replace(/\s+/g, ' ').toLocaleLowerCase();
  const wanted = key(name);
  return wanted === '' ? undefined : recipes.find((r) => r.id !== ownId && key(r.name) === wanted);
}

/** The sentence for a name that is taken (the editor shows it before the worker would refuse it). */
export function nameTakenMessage(existing: Pick<Recipe, 'name'>): string {
  return `A recipe named "${existing.name}" already exists: give this one another name.`;
}
