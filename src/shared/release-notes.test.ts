import { describe, expect, it } from 'vitest';
import { parseReleaseNotes } from './release-notes';

describe('release notes (markdown subset)', () => {
  it('reads headings, lists, paragraphs and inline styles as plain data', () => {
    expect(parseReleaseNotes('## Fixes\n- Faster **boot**\n- `wifi` *reconnects*\n  after sleep\n\nThanks to all.')).toEqual([
      { kind: 'heading', spans: [{ text: 'Fixes' }] },
      {
        kind: 'list',
        items: [
          [{ text: 'Faster ' }, { text: 'boot', style: 'strong' }],
          [{ text: 'wifi', style: 'code' }, { text: ' ' }, { text: 'reconnects', style: 'em' }, { text: ' ' }, { text: 'after sleep' }],
        ],
      },
      { kind: 'paragraph', spans: [{ text: 'Thanks to all.' }] },
    ]);
  });

  it('keeps markup as text: a manifest cannot inject HTML', () => {
    expect(parseReleaseNotes('<img src=x onerror=alert(1)> [link](javascript:x)')).toEqual([
      { kind: 'paragraph', spans: [{ text: '<img src=x onerror=alert(1)> [link](javascript:x)' }] },
    ]);
  });
});
