/*
 * Release notes in a small markdown subset, parsed into plain data the UI renders as elements (never
 * as HTML, so a manifest cannot inject markup): headings (`#`, `##`, `###`), bullet lists (`-`, `*`),
 * paragraphs (blank-line separated), and inside them **bold**, *emphasis* and `code`. Anything else
 * is shown as the text it is.
 */

export interface NoteSpan {
  text: string;
  style?: 'strong' | 'em' | 'code';
}

export type NoteBlock = { kind: 'heading'; spans: NoteSpan[] } | { kind: 'paragraph'; spans: NoteSpan[] } | { kind: 'list'; items: NoteSpan[][] };

/** At most this many characters are rendered: release notes, not a manual. */
const MAX_NOTES = 4000;

export function parseReleaseNotes(markdown: string): NoteBlock[] {
  const blocks: NoteBlock[] = [];
  let paragraph: string[] = [];
  let list: NoteSpan[][] | null = null;
  const flush = () => {
    if (paragraph.length) blocks.push({ kind: 'paragraph', spans: parseInline(paragraph.join(' ')) });
    if (list) blocks.push({ kind: 'list', items: list });
    paragraph = [];
    list = null;
  };
  for (const raw of markdown.slice(0, MAX_NOTES).split(/\r?\n/)) {
    const line = raw.trim();
    const heading = /^#{1,3}\s+(.*)$/.exec(line);
    const item = /^[-*]\s+(.*)$/.exec(line);
    if (line === '') {
      flush();
    } else if (heading) {
      flush();
      blocks.push({ kind: 'heading', spans: parseInline(heading[1]!) });
    } else if (item) {
      if (paragraph.length) flush();
      (list ??= []).push(parseInline(item[1]!));
    } else if (list) {
      // A continuation line of the last item.
      list[list.length - 1]!.push({ text: ' ' }, ...parseInline(line));
    } else {
      paragraph.push(line);
    }
  }
  flush();
  return blocks;
}

export function parseInline(text: string): NoteSpan[] {
  const spans: NoteSpan[] = [];
  const pattern = /\*\*([^*]+)\*\*|`([^`]+)`|\*([^*]+)\*/g;
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    if (m.index > last) spans.push({ text: text.slice(last, m.index) });
    if (m[1] !== undefined) spans.push({ text: m[1], style: 'strong' });
    else if (m[2] !== undefined) spans.push({ text: m[2], style: 'code' });
    else spans.push({ text: m[3]!, style: 'em' });
    last = m.index + m[0].length;
  }
  if (last < text.length) spans.push({ text: text.slice(last) });
  return spans;
}
