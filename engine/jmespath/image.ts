/**
 * image_normalize: Kyverno's GetImageInfo (default registry docker.io, registry mutation on)
 * over the distribution/reference grammar, then ImageInfo.String().
 */
import { RE2JS } from 're2js';
import { fnError } from './go-compat';

const DEFAULT_REGISTRY = 'docker.io';
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[(?:[a-fA-F0-9:]+)\\])(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
// Linear-time engine for a fixed grammar applied to untrusted text.
const REFERENCE = RE2JS.compile(`^((?:${DOMAIN}/)?${COMPONENT}(?:/${COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const MAX_NAME_LENGTH = 255;

function hasDomain(name: string): boolean {
  const i = name.indexOf('/');
  if (i < 0) return false;
  const first = name.slice(0, i);
  return /[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first;
}

export function normalizeImage(image: string): string {
  const full = hasDomain(image) ? image : `${DEFAULT_REGISTRY}/${image}`;
  const m = REFERENCE.matcher(full);
  if (!m.matches()) {
    const lower = full.toLowerCase();
    const reason = lower !== full && REFERENCE.matcher(lower).matches() ? 'repository name must be lowercase' : 'invalid reference format';
    throw fnError('image_normalize', `bad image: ${full}: ${reason}`);
  }
  const name = m.group(1)!;
  const tag = m.group(2) ?? '';
  const digest = m.group(3) ?? '';
  if (name.length > MAX_NAME_LENGTH) {
    throw fnError('image_normalize', `bad image: ${full}: repository name must not be more than ${MAX_NAME_LENGTH} characters`);
  }
  let domain = name.slice(0, name.indexOf('/'));
  let path = name.slice(domain.length + 1);
  if (domain === 'index.docker.io') domain = DEFAULT_REGISTRY;
  if (domain === DEFAULT_REGISTRY && !path.includes('/')) path = `library/${path}`;
  const base = `${domain}/${path}`;
  if (digest) return `${base}@${digest}`;
  return `${base}:${tag || 'latest'}`;
}
