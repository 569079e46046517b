import type { Command } from '../cli/spec';

/**
 * Every command, in help order. A command module is loaded only when it runs or its help is shown,
 * so `webprog --help` needs none of the engine. To add one: a module exporting `command`, one line here.
 */
export const COMMANDS: readonly { name: string; summary: string; load: () => Promise<{ command: Command }> }[] = [
  { name: 'flash', summary: 'Write firmware to one or more boards and verify it', load: () => import('./flash') },
  { name: 'verify', summary: 'Compare a board\'s memory with a file, writing nothing', load: () => import('./verify') },
  { name: 'read', summary: 'Read a board\'s memory into a file (or stdout)', load: () => import('./read') },
  { name: 'erase', summary: 'Erase a whole chip', load: () => import('./erase') },
  { name: 'blank-check', summary: 'Check that a memory is erased', load: () => import('./blank-check') },
  { name: 'probe', summary: 'Identify the device on a port without writing', load: () => import('./probe') },
  { name: 'ports', summary: 'List serial ports and USB devices, with the drivers that fit them', load: () => import('./ports') },
  { name: 'drivers', summary: 'List the programmer protocols', load: () => import('./drivers') },
  { name: 'parts', summary: 'List a driver\'s parts, boards and options', load: () => import('./parts') },
  { name: 'manifest', summary: 'Make signing keys, sign a firmware manifest, verify one', load: () => import('./manifest') },
  { name: 'info', summary: 'Describe a firmware file (format, segments, CRC, SHA-256)', load: () => import('./info') },
  { name: 'convert', summary: 'Convert a firmware file between bin, hex, srec, uf2', load: () => import('./convert') },
  { name: 'simulate', summary: 'Run a virtual device on a pseudo-terminal (or virtual USB) for testing', load: () => import('./simulate') },
];

export function findCommand(name: string) {
  return COMMANDS.find((c) => c.name === name);
}
