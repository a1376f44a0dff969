export * from './parse';
export * from './classify';
