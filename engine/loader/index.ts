export * from './parse';
export * from './classify';
export { GO_YAML_OPTIONS, resolveGoNumber } from './go-yaml';
