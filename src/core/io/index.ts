export * from './byte-stream';
export * from './clock';
export * from './signal';
export * from './uart-link';
export * from './faults';
