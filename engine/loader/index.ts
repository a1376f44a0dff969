export * from './parse';
export * from './document';
export * from './classify';
export { GO_YAML_OPTIONS, resolveGoNumber } from './go-yaml';
