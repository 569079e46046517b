/*
 * The File System Access API, where the browser has it (Chromium): a file opened through the picker,
 * or dropped, comes with a handle the page can read again later, so a re-flash takes the file as the
 * build left it, not the copy read when it was chosen.
 */

/** The part of FileSystemFileHandle this app uses (declared here: not every lib.dom has it). */
export interface FileHandle {
  readonly kind: 'file';
  readonly name: string;
  getFile(): Promise<File>;
}

interface PickerWindow {
  showOpenFilePicker?: (options?: { multiple?: boolean; types?: { description: string; accept: Record<string, string[]> }[] }) => Promise<FileHandle[]>;
}

/** Whether files can be opened with a handle to read them again. */
export function canOpenWithHandle(): boolean {
  return typeof (globalThis as PickerWindow).showOpenFilePicker === 'function';
}

/**
 * Opens the picker for one firmware file. Null when the user cancelled; throws when the browser
 * refused for another reason (the caller falls back to the plain file dialog).
 */
export async function openFirmwareHandle(extensions: string[]): Promise<FileHandle | null> {
  const pick = (globalThis as PickerWindow).showOpenFilePicker;
  if (!pick) return null;
  try {
    const [handle] = await pick({ multiple: false, types: [{ description: 'Firmware', accept: { 'application/octet-stream': extensions } }] });
    return handle ?? null;
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') return null;
    throw err;
  }
}

/** The handle of a dropped file, where the browser gives one; must be asked during the drop event. */
export function droppedHandle(event: DragEvent): Promise<FileHandle | null> {
  const item = event.dataTransfer?.items?.[0] as (DataTransferItem & { getAsFileSystemHandle?: () => Promise<FileHandle | null> }) | undefined;
  if (!item || item.kind !== 'file' || typeof item.getAsFileSystemHandle !== 'function') return Promise.resolve(null);
  return item
    .getAsFileSystemHandle()
    .then((h) => (h && h.kind === 'file' ? h : null))
    .catch(() => null);
}
