import type { TextExport } from '../shared/api';

/** Saves an export through the browser's download (the page's side of every Export button). */
export function saveText(file: TextExport): void {
  const url = URL.createObjectURL(new Blob([file.text], { type: file.mimeType }));
  const a = document.createElement('a');
  a.href = url;
  a.download = file.fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
