// Expected values mostly from kyverno/kyverno pkg/engine/jmespath/functions_test.go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jmesSearch, JmespathError } from '../../engine/jmespath';

const run = (expr: string, data: unknown = '') => jmesSearch(expr, data);

test('strings: compare, equal_fold, case, trim, split, replace', () => {
  const cases: Array<[string, unknown]> = [
    ["compare('a', 'a')", 0],
    ["compare('a', 'b')", -1],
    ["compare('b', 'a')", 1],
    ["equal_fold('Go', 'go')", true],
    ["equal_fold('1', 'b')", false],
    ["to_upper('a#%&123Bc')", 'A#%&123BC'],
    ["to_lower('a#%&123Bc')", 'a#%&123bc'],
    ["to_upper('ß')", 'ß'],
    ["trim('¡¡¡Hello, Gophers!!!', '!¡')", 'Hello, Gophers'],
    ["trim_prefix('¡¡¡Hello, Gophers!!!', '¡¡¡Hello, ')", 'Gophers!!!'],
    ["trim_prefix('¡¡¡Hello, Gophers!!!', '¡¡¡Hola, ')", '¡¡¡Hello, Gophers!!!'],
    ["split('Hello, Gophers', ', ')", ['Hello', 'Gophers']],
    ["split('abc', '')", ['a', 'b', 'c']],
    ["replace('Lorem ipsum ipsum ipsum dolor sit amet', 'ipsum', 'muspi', `-1`)", 'Lorem muspi muspi muspi dolor sit amet'],
    ["replace('Lorem ipsum ipsum ipsum dolor sit amet', 'ipsum', 'muspi', `1`)", 'Lorem muspi ipsum ipsum dolor sit amet'],
    ["replace_all('Lorem ipsum dolor sit amet', 'ipsum', 'muspi')", 'Lorem muspi dolor sit amet'],
    ["truncate('Lorem ipsum dolor sit amet', `5`)", 'Lorem'],
    ["truncate('Lorem ipsum', `2.6`)", 'Lo'],
    ["truncate('Lorem ipsum', `-1`)", ''],
    ["to_boolean('TRue')", true],
    ["to_boolean('FaLse')", false],
    ["starts_with('Gophers', 'Go')", true],
    ["ends_with('Amigo', 'go')", true],
  ];
  for (const [expr, expected] of cases) assert.deepEqual(run(expr), expected, expr);
  assert.throws(() => run("to_boolean('foo')"), /JMESPath function 'to_boolean': lowercase argument must be 'true' or 'false' \(provided: 'foo'\)/);
  assert.throws(() => run("to_upper(`1`)"), JmespathError);
});

test('regex and wildcard functions', () => {
  assert.equal(run("regex_match('12.*', foo)", { foo: "hgf'b1a2r'b12g" }), true);
  assert.equal(run("regex_match('12.*', abs(foo))", { foo: -12 }), true);
  assert.equal(run("pattern_match('prefix-*', foo)", { foo: 'prefix-foo' }), true);
  assert.equal(run("pattern_match('12*', abs(foo))", { foo: -12 }), true);
  const resource = { spec: { field: 'Hello world, helworldlo' } };
  assert.equal(run("regex_replace_all('([Hh]e|G)l', spec.field, '${2}G')", resource), 'Glo world, Gworldlo');
  assert.equal(run("regex_replace_all_literal('[Hh]el?', spec.field, 'G')", resource), 'Glo world, Gworldlo');
  assert.equal(run("regex_replace_all('^(.*)$', `12.5`, '$1x')", null), '');
  assert.equal(run("regex_replace_all('^(.*)$', `12.5`, '${1}x')", null), '12.5x');
  assert.throws(() => run("regex_match('(', 'x')"), /error parsing regexp: missing closing \)/);
  assert.throws(() => run("regex_replace_all('(', 'x', 'y')"), /JMESPath function 'regex_replace_all': error parsing regexp/);
});

test('label_match, lookup, items, object_from_lists', () => {
  const res = { metadata: { labels: { app: 'test-app', 'controller-name': 'test-controller' } } };
  assert.equal(run('label_match(`{ "app": "test-app" }`, metadata.labels)', res), true);
  assert.equal(run('label_match(`{ "app": "test-app2" }`, metadata.labels)', res), false);
  assert.equal(run('label_match(`{ "app.kubernetes.io/name": "test-app" }`, metadata.labels)', res), false);

  assert.equal(run('lookup(`{"key1": "value1"}`, `"key1"`)'), 'value1');
  assert.equal(run('lookup(`{"key1": "value1"}`, `"key2"`)'), null);
  assert.equal(run('lookup(`["item0"]`, `-1`)'), null);
  assert.equal(run('lookup(`["item0", "item1"]`, `0.99999999999999999999999999999999999999999999`)'), 'item1');
  assert.throws(() => run('lookup(`{}`, `123`)'), /argument #2 is not of type String/);
  assert.throws(() => run('lookup(`[]`, `"abc"`)'), /argument #2 is not of type Number/);
  assert.throws(() => run('lookup(`[]`, `1.5`)'), /JMESPath function 'lookup': argument #2: expected an integer number but got: 1.5/);

  assert.deepEqual(run('items(`{ "key2": "value2", "key1": "value1" }`, `"key"`, `"value"`)'), [
    { key: 'key1', value: 'value1' },
    { key: 'key2', value: 'value2' },
  ]);
  assert.deepEqual(run('items(`["A", "B"]`, `"myKey"`, `"myValue"`)'), [
    { myKey: 0, myValue: 'A' },
    { myKey: 1, myValue: 'B' },
  ]);
  assert.deepEqual(run('object_from_lists(`["key1", "key2"]`, `[1]`)'), { key1: 1, key2: null });
  assert.deepEqual(run('object_from_lists(`[1, true]`, `["a", "b"]`)'), { '1': 'a', true: 'b' });
});

test('parse_json / parse_yaml / to_string (Go json.Marshal)', () => {
  for (const doc of ['{"a":"b"}', 'true', '[1,2,3,{"a":"b"}]', 'null', '[]', '{}', '0', '1.2', '[1.2,true,{"a":{"a":"b"}}]']) {
    assert.equal(run(`to_string(parse_json('${doc}'))`), doc, doc);
  }
  assert.equal(run(`parse_json('[1, 2, {"a": {"b": {"c": [1, 2]}}}]')[2].a.b.c[1]`), 2);
  assert.deepEqual(run("parse_yaml('a: b')"), { a: 'b' });
  // sigs.k8s.io/yaml is not strict: the last of duplicate keys wins (no error).
  assert.deepEqual(run(`parse_yaml('a: 1\na: 2')`), { a: 2 });
  assert.deepEqual(run(`parse_yaml('
spec:
  test: 1
  test2:
    - 2
    - 3
')`), { spec: { test: 1, test2: [2, 3] } });
  assert.deepEqual(run(`parse_yaml('
bar: >
  this is not a normal string it
  spans more than
  one line
  see?')`), { bar: 'this is not a normal string it spans more than one line see?' });
  assert.deepEqual(run(`parse_yaml('
---
foo: ~
bar: null
')`), { foo: null, bar: null });
  // yaml.v2: YAML 1.1 booleans, timestamps kept as strings
  assert.deepEqual(run(`parse_yaml('
on: yes
when: 2024-01-01
')`), { true: true, when: '2024-01-01' });
  assert.equal(run('to_string(`{"b": "<&>", "a": 1}`)'), '{"a":1,"b":"\\u003c\\u0026\\u003e"}');
  assert.throws(() => run("parse_json('{')"), JmespathError);
});

test('base64, path_canonicalize', () => {
  assert.equal(run("base64_decode('SGVsbG8sIHdvcmxkIQ==')"), 'Hello, world!');
  assert.equal(run("base64_encode('Hello, world!')"), 'SGVsbG8sIHdvcmxkIQ==');
  assert.equal(run('base64_decode(data.example2)', { data: { example2: 'Rm9vQmFy' } }), 'FooBar');
  assert.throws(() => run("base64_decode('SGVsbG8')"), /illegal base64 data at input byte 7/);
  assert.throws(() => run("base64_decode('SG!s')"), /illegal base64 data at input byte 2/);
  const paths: Array<[string, string]> = [
    ['///', '/'],
    ['///var/run/containerd/containerd.sock', '/var/run/containerd/containerd.sock'],
    ['/var/run///containerd////', '/var/run/containerd'],
    ['/run/../etc', '/etc'],
    ['///etc*', '/etc*'],
    ['/../../', '/'],
  ];
  for (const [input, out] of paths) assert.equal(run(`path_canonicalize('${input}')`), out, input);
});

test('semver_compare (blang/semver ranges)', () => {
  const cases: Array<[string, boolean]> = [
    ["semver_compare('4.1.3','>=4.1.x')", true],
    ["semver_compare('4.1.3','!4.x.x')", false],
    ["semver_compare('1.8.6','>1.0.0 <2.0.0')", true],
    ["semver_compare('2.1.5','<2.0.0 || >=3.0.0')", false],
    ["semver_compare('1.0.0-alpha','<1.0.0')", true],
    ["semver_compare('not-a-version','<1.0.0')", true],
  ];
  for (const [expr, expected] of cases) assert.equal(run(expr), expected, expr);
  assert.throws(() => run("semver_compare('1.0.0','>=abc')"), /Could not get version from string/);
});

test('image_normalize (Kyverno functions_test.go table: no library/ for Docker Hub)', () => {
  assert.equal(run("image_normalize('nginx')"), 'docker.io/nginx:latest');
  assert.equal(run("image_normalize('docker.io/nginx')"), 'docker.io/nginx:latest');
  assert.equal(run("image_normalize('docker.io/library/nginx')"), 'docker.io/library/nginx:latest');
  assert.equal(run("image_normalize('ghcr.io/library/nginx')"), 'ghcr.io/library/nginx:latest');
  assert.equal(run("image_normalize('ghcr.io/nginx')"), 'ghcr.io/nginx:latest');
  assert.equal(run("image_normalize('ghcr.io/nginx:latest')"), 'ghcr.io/nginx:latest');
  assert.equal(run("image_normalize('ghcr.io/nginx:1.2')"), 'ghcr.io/nginx:1.2');
  assert.throws(() => run("image_normalize('')"), { message: "JMESPath function 'image_normalize': bad image: docker.io/, defaultRegistry: docker.io, enableDefaultRegistryMutation: true: invalid reference format" });
  assert.equal(run("image_normalize('bitnami/nginx')"), 'docker.io/bitnami/nginx:latest');
  assert.equal(run("image_normalize('localhost:5000/app')"), 'localhost:5000/app:latest');
  const digest = 'sha256:' + 'a'.repeat(64);
  assert.equal(run(`image_normalize('nginx:1.25@${digest}')`), `docker.io/nginx@${digest}`);
  assert.throws(() => run("image_normalize('UPPER/Case')"), /JMESPath function 'image_normalize': bad image: UPPER\/Case, .*: repository name must be lowercase/);
});

test('random generates strings matching the pattern', () => {
  for (let i = 0; i < 20; i++) {
    const s = run("random('[a-z0-9]{12}')") as string;
    assert.match(s, /^[a-z0-9]{12}$/);
  }
  assert.match(run("random('ab(c|d)[0-9]+')") as string, /^ab[cd][0-9]+$/);
  assert.throws(() => run("random('')"), /no pattern provided/);
  assert.throws(() => run(`random('${'[a-z]{1000}'.repeat(70)}')`), /too long/);
  assert.throws(() => run("random('[a-z]{100000}')"), /invalid repeat count/);
});

// The certificate from Kyverno's Test_x509Decode; the CSR was generated with
// `openssl req -subj "/CN=alice/O=devs/O=ops" -addext "subjectAltName=DNS:alice.example.com,IP:10.0.0.1"`.
const CERT = [
  '-----BEGIN CERTIFICATE-----',
  'MIIC7TCCAdWgAwIBAgIBADANBgkqhkiG9w0BAQsFADAYMRYwFAYDVQQDDA0qLmt5',
  'dmVybm8uc3ZjMB4XDTIyMDExMTEzMjY0M1oXDTIzMDExMTE0MjY0M1owGDEWMBQG',
  'A1UEAwwNKi5reXZlcm5vLnN2YzCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoC',
  'ggEBAMsAz85+yino+MmdKsVtHwNi3oAVjumzXHiLfUJK7xi5KU8B7goPHF/VCe/V',
  '7Y2c4afyfgY2ePw4LxSDkCYNgYwqjSwGIbcsqv5ZRazBdDxR09ri6PknNyBVGLi5',
  'RlPXIrGQ3psNuf55qwxJxLO31qCZuvktKY5YvuIR4JPmBhuSFXOnn0ZiQw8uxMcQ',
  '0QA2lz+PxWCVNk9q+31H5DH1oYZDLfU3mijIOA+AJGZbBb+ZwBmpVL0+2TXLxE74',
  'WowdKEV+WTsKojNTd0VwcuRKRKR/6ynXAAis21y1X7Ui9FJE6mDIylUD40WXOKGJ',
  '1lYY41kRnYhVhvXYN9JtNYdY3HsCAwEAAaNCMEAwDgYDVR0PAQH/BAQDAgKkMA8G',
  'A1UdEwEB/wQFMAMBAf8wHQYDVR0OBBYEFOnlASVD9fu3TAjptlW/gAXA4ql+MA0G',
  'CSqGSIb3DQEBCwUAA4IBAQCIpyRiChxp97crKfQ24Jt7z8P+AGpLf3sX4eL87ESa',
  '7QRoVJtXLmaut1pUEoYLQruKmh/0YFtZG9WxVgY6iuKbWnu7bOeMB/Ir+V/yrX3R',
  '+XvZOsuXiJnEbJiBW6lJzLldoW4f/71H+j1WD4tHpqmdMxq/sLqXfPIuc0/m0yFC',
  'n+ADBWGGB8Nn66vxtv+cT6p+RIVotXPQWbMilWp6pd5wSuB68FqrDwtYLNJtPwFs',
  '9MPVkuaJdYZ0eWd/rMcKD94Hgf89gvA0+qzMVFf+3BemXskjQRYy6CKsqoyC6jX4',
  'nhYjumAP/7psbzITsnpHtfCEEU+2JZwgM406aiMcsgLb',
  '-----END CERTIFICATE-----',
].join('\n');
const CSR = `-----BEGIN CERTIFICATE REQUEST-----
MIIBojCCAQsCAQAwLTEOMAwGA1UEAwwFYWxpY2UxDTALBgNVBAoMBGRldnMxDDAK
BgNVBAoMA29wczCBnzANBgkqhkiG9w0BAQEFAAOBjQAwgYkCgYEAuHwnenHBxazt
l5mOPGTBHiNAxraMhYSQlPz/V7mJsizvUoG/9o9vD7ZJleUEINc3X5muPTZh6lRE
dvWFaXVafwmJbePa6PaOMYSbf1vWmLWXWxvRQQUjjkFrs5/gPuukMrLe/0Cif9Ok
wbrYjZ9q/F3w42gJggiUmUySkuzEgXcCAwEAAaA1MDMGCSqGSIb3DQEJDjEmMCQw
IgYDVR0RBBswGYIRYWxpY2UuZXhhbXBsZS5jb22HBAoAAAEwDQYJKoZIhvcNAQEL
BQADgYEAY7QRyLnsREXMwb1mlNJBX9uujFUbPA20pKhPEpcDMFGHmS5cz3WbU0Fd
kd2b9PFKlZNv2EpL8V0FYOXSNEgOvewPnMltEkp/sb+8n+QwxluwCbqbbKLrDelp
+ccCLBmXU80w7xyW5jVCyIznwTApippeR6pqRO7DWQD0a9URMG4=
-----END CERTIFICATE REQUEST-----`;

test('x509_decode: certificate fields as Go encodes x509.Certificate', () => {
  const cert = run('x509_decode(@)', CERT) as Record<string, any>;
  assert.equal(cert.Subject.CommonName, '*.kyverno.svc');
  assert.deepEqual(cert.Subject.Names, [{ Type: [2, 5, 4, 3], Value: '*.kyverno.svc' }]);
  assert.equal(cert.Subject.Organization, null);
  assert.equal(cert.Issuer.CommonName, '*.kyverno.svc');
  assert.equal(cert.NotBefore, '2022-01-11T13:26:43Z');
  assert.equal(cert.NotAfter, '2023-01-11T14:26:43Z');
  assert.equal(cert.Version, 3);
  assert.equal(cert.SignatureAlgorithm, 4); // SHA256WithRSA
  assert.equal(cert.PublicKeyAlgorithm, 1); // RSA
  assert.equal(cert.PublicKey.E, 65537);
  assert.match(cert.PublicKey.N, /^[0-9]+$/);
  assert.equal(cert.KeyUsage, 37); // DigitalSignature | KeyEncipherment | CertSign
  assert.equal(cert.IsCA, true);
  assert.equal(cert.MaxPathLen, -1);
  assert.equal(cert.SubjectKeyId, '6eUBJUP1+7dMCOm2Vb+ABcDiqX4=');
  // base64-wrapped PEM, as policies pass it through base64_decode
  const wrapped = run('x509_decode(base64_decode(@)).Subject.CommonName', run('base64_encode(@)', CERT));
  assert.equal(wrapped, '*.kyverno.svc');
});

test('x509_decode: certificate requests', () => {
  const csr = run('x509_decode(@)', CSR) as Record<string, any>;
  assert.equal(csr.Subject.CommonName, 'alice');
  assert.deepEqual(csr.Subject.Organization, ['devs', 'ops']);
  assert.deepEqual(csr.DNSNames, ['alice.example.com']);
  assert.deepEqual(csr.IPAddresses, ['10.0.0.1']);
  assert.equal(csr.Version, 0);
  assert.equal(run('x509_decode(@).Subject | to_string(@)', CSR), JSON.stringify({
    CommonName: 'alice', Country: null, ExtraNames: null, Locality: null,
    Names: [{ Type: [2, 5, 4, 3], Value: 'alice' }, { Type: [2, 5, 4, 10], Value: 'devs' }, { Type: [2, 5, 4, 10], Value: 'ops' }],
    Organization: ['devs', 'ops'], OrganizationalUnit: null, PostalCode: null, Province: null, SerialNumber: '', StreetAddress: null,
  }));
});

test('x509_decode reports PEM problems clearly', () => {
  assert.throws(() => run("x509_decode('not pem')"), /failed to decode PEM block/);
  assert.throws(
    () => run('x509_decode(@)', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----'),
    /PEM block neither contains a CERTIFICATE or CERTIFICATE REQUEST/,
  );
  assert.throws(() => run('x509_decode(@)', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'), /x509: malformed certificate/);
});

test('parse_json fails with encoding/json\'s message, as Kyverno returns it', () => {
  assert.throws(() => jmesSearch("parse_json('value: a')", {}), /invalid character 'v' looking for beginning of value/);
  assert.deepEqual(jmesSearch(`parse_json('{"a": [1, 2]}')`, {}), { a: [1, 2] });
});

test('sort, max and min order strings by UTF-8 bytes, as Go does (surrogate pairs after U+E000-U+FFFF)', () => {
  const pieces = ['a', 'z', 'é', '\u0800', '\ud7ff', '\ue000', '\uffff', '😀', '𝄞', ''];
  const strings = pieces.flatMap((x) => pieces.map((y) => x + y));
  const bytes = new TextEncoder();
  const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(bytes.encode(a)), Buffer.from(bytes.encode(b)));
  const expected = [...strings].sort(byUtf8);
  assert.deepEqual(jmesSearch('sort(@)', strings), expected);
  assert.equal(jmesSearch('max(@)', strings), expected[expected.length - 1]);
  assert.equal(jmesSearch('min(@)', strings), expected[0]);
});
