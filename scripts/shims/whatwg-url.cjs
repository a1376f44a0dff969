// Stands in for the whatwg-url package in the Node bundles (scripts/bundles.mjs). Its only user
// there is node-fetch 2 (through @kubernetes/client-node), which takes Node's own `url.URL` and
// reads whatwg-url's only when Node has none; whatwg-url would bring tr46's Unicode tables
// (about 285 KB in each of the CLI, extension and webhook bundles) for that dead branch.
'use strict';
exports.URL = globalThis.URL;
exports.URLSearchParams = globalThis.URLSearchParams;
