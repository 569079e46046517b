import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/tools';

describe('temporary folders', () => {
  it('are made under the run\'s own root, which the global teardown removes', () => {
    expect(basename(tmpdir())).toMatch(/^webprog-tests-/);
    const dir = tempDir('webprog-check-');
    expect(existsSync(dir)).toBe(true);
    expect(dirname(dir)).toBe(tmpdir());
  });
});
