import { describe, expect, it } from 'vitest';
import { plural } from './format';

describe('plural', () => {
  it('says "1 job" and "2 jobs", with thousands grouped', () => {
    expect(plural(1, 'job')).toBe('1 job');
    expect(plural(0, 'job')).toBe('0 jobs');
    expect(plural(2, 'job')).toBe('2 jobs');
    expect(plural(1, 'memory', 'memories')).toBe('1 memory');
    expect(plural(4096, 'byte')).toMatch(/^4.?096 bytes$/);
  });
});
