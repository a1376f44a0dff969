// The cases of the Go test tables of Kyverno's CEL libraries (kyverno/sdk, extensions/cel/libs/*),
// run against our CEL environment. Each describe names the Go test file its cases come from.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { evalCel, checkingEnvironmentFor } from '../../engine/cel/environment';
import { kyvernoActivation, type CelRuntime } from '../../engine/cel/lib-kyverno';
import { fromCel } from '../../engine/cel/values';
import type { ClusterState, JsonObject } from '../../engine/core/types';

function runtime(images: JsonObject[] = []): CelRuntime {
  const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [], images } as ClusterState;
  return { cluster, now: new Date(), generated: [] };
}

function evalRaw(expr: string, rt = runtime(), vars: Record<string, unknown> = {}): unknown {
  return evalCel(expr, { ...kyvernoActivation(rt), ...vars });
}

function run(expr: string, rt = runtime(), vars: Record<string, unknown> = {}): unknown {
  return fromCel(evalRaw(expr, rt, vars));
}

/** The expression does not compile in the checking environment; its message matches. */
function rejected(expr: string, message: RegExp): void {
  const result = checkingEnvironmentFor({}).check(expr);
  assert.equal(result.valid, false, `${expr} should not compile`);
  assert.match(result.error?.message ?? '', message);
}

const DIGEST = 'sha256:6aefddb645ee6963afd681b1845c661d0ea4c3b20ab9db86d9e753b203d385f2';
const IMAGE = 'registry.k8s.io/kube-apiserver-arm64';

describe('image: sdk/extensions/cel/libs/image/lib_test.go (TestImage)', () => {
  const cases: Array<[string, string, unknown]> = [
    ['isImage', `isImage("${IMAGE}:latest")`, true],
    ['isImage_false', `isImage("${IMAGE}:@")`, false],
    ['contains_digest_no_identifier', `parseImageReference("${IMAGE}").containsDigest()`, false],
    ['contains_digest_tag', `parseImageReference("${IMAGE}:latest").containsDigest()`, false],
    ['contains_digest_true', `parseImageReference("${IMAGE}@${DIGEST}").containsDigest()`, true],
    ['contains_digest_with_tag_true', `parseImageReference("${IMAGE}:latest@${DIGEST}").containsDigest()`, true],
    ['registry', `parseImageReference("${IMAGE}").registry() == "registry.k8s.io"`, true],
    ['registry_matches', `parseImageReference("${IMAGE}").registry().matches("(registry.k8s.io|ghcr.io)")`, true],
    ['repository', `parseImageReference("${IMAGE}").repository() == "kube-apiserver-arm64"`, true],
    ['identifier_tag', `parseImageReference("${IMAGE}:testtag").identifier()`, 'testtag'],
    ['default_identifier', `parseImageReference("${IMAGE}").identifier()`, 'latest'],
    ['identifer_digest', `parseImageReference("${IMAGE}@${DIGEST}").identifier()`, DIGEST],
    ['identifer_digest_and_tag', `parseImageReference("${IMAGE}:latest@${DIGEST}").identifier()`, DIGEST],
    ['tag', `parseImageReference("${IMAGE}:testtag").tag()`, 'testtag'],
    ['default_tag', `parseImageReference("${IMAGE}").tag()`, 'latest'],
    ['no_tag', `parseImageReference("${IMAGE}@${DIGEST}").tag()`, ''],
    ['no_digest', `parseImageReference("${IMAGE}").digest()`, ''],
    ['digest_tag', `parseImageReference("${IMAGE}:testtag").digest()`, ''],
    ['digest', `parseImageReference("${IMAGE}@${DIGEST}").digest()`, DIGEST],
    ['digest_digest_and_tag', `parseImageReference("${IMAGE}:latest@${DIGEST}").digest() == "${DIGEST}"`, true],
  ];
  for (const [name, expr, want] of cases) test(name, () => assert.equal(run(expr), want));

  test('parse', () => assert.equal(run(`parseImageReference("${IMAGE}:latest") == parseImageReference("${IMAGE}:latest")`), true));
  test('parse_invalid_image', () => {
    assert.throws(() => run(`parseImageReference("${IMAGE}:@")`), /could not parse reference: registry\.k8s\.io\/kube-apiserver-arm64:@/);
  });
  test('isImage_noOverload', () => rejected('isImage(0)', /found no matching overload/));
  test('image() is the deprecated alias of parseImageReference()', () => {
    assert.equal(run(`image("${IMAGE}:v1").tag()`), 'v1');
  });
});

describe('image: sdk/extensions/cel/libs/image/types_test.go (Equal, ConvertToType)', () => {
  test('same image', () => assert.equal(run(`parseImageReference("${IMAGE}:latest") == parseImageReference("${IMAGE}:latest")`), true));
  test('different image', () => assert.equal(run(`parseImageReference("${IMAGE}:not-latest") == parseImageReference("${IMAGE}:latest")`), false));
  test('not an image: no string conversion', () => rejected(`string(parseImageReference("${IMAGE}"))`, /no matching overload/));
});

describe('image: go-containerregistry name.ParseReference behind parseImageReference', () => {
  test('Docker Hub defaults: registry index.docker.io, library/ namespace, tag latest', () => {
    assert.equal(run('image("nginx").registry() + "/" + image("nginx").repository() + ":" + image("nginx").tag()'), 'index.docker.io/library/nginx:latest');
    assert.equal(run('image("docker.io/nginx").registry()'), 'index.docker.io');
    assert.equal(run('image("org/app").repository()'), 'org/app');
  });
  test('a registry needs a "." or ":" in the first component (localhost alone is a repository)', () => {
    assert.equal(run('image("localhost:5000/app:1").registry()'), 'localhost:5000');
    assert.equal(run('image("localhost/app").registry()'), 'index.docker.io');
    assert.equal(run('image("localhost/app").repository()'), 'localhost/app');
  });
  test('rejected references', () => {
    for (const bad of ['UPPER/app', 'a', 'app:', `app@sha256:${'A'.repeat(64)}`, 'app@sha512:abc', 'app:t@g']) {
      assert.equal(run(`isImage("${bad}")`), false, bad);
    }
  });
  test('a digest reference with a tag drops the tag', () => {
    assert.equal(run(`image("ghcr.io/org/app:1.0@${DIGEST}").tag()`), '');
  });
});

describe('imagedata: sdk/extensions/cel/libs/imagedata/impl_test.go', () => {
  const rt = runtime([{ image: 'ghcr.io/kyverno/kyverno:latest', resolvedImage: 'ghcr.io/kyverno/kyverno:latest@sha256:', config: { architecture: 'amd64', size: 5 } }]);
  test('Test_impl_get_imagedata_string: getMetadata and GetMetadata', () => {
    assert.match(String(run('image.getMetadata("ghcr.io/kyverno/kyverno:latest").resolvedImage', rt)), /^ghcr\.io\/kyverno\/kyverno:latest@sha256:/);
    assert.equal(run('image.GetMetadata("ghcr.io/kyverno/kyverno:latest").config.architecture', rt), 'amd64');
  });
  test('numbers come back as doubles (the CLI round-trips image data through encoding/json)', () => {
    assert.equal(evalRaw('image.GetMetadata("ghcr.io/kyverno/kyverno:latest").config.size', rt), 5);
  });
  test('the CLI looks image data up by the exact image string', () => {
    assert.throws(() => run('image.GetMetadata("ghcr.io/kyverno/kyverno")', rt), /failed to get image data: image data for ghcr\.io\/kyverno\/kyverno not found in the context/);
  });
  test('bad arg 2: the argument must be a string', () => rejected('image.getMetadata(false)', /no matching overload/));
});

describe('user: sdk/extensions/cel/libs/user/impl_test.go', () => {
  const cases: Array<[string, string, { Namespace: string; Name: string }]> = [
    ['simple', 'system:serviceaccount:foo:bar', { Namespace: 'foo', Name: 'bar' }],
    ['with :', 'system:serviceaccount:foo:bar:baz', { Namespace: 'foo', Name: 'bar:baz' }],
    ['not a service account', 'something-else:123', { Namespace: '', Name: '' }],
  ];
  for (const [name, user, want] of cases) {
    test(name, () => {
      assert.equal(run(`parseServiceAccount("${user}").Namespace`), want.Namespace);
      assert.equal(run(`parseServiceAccount("${user}").Name`), want.Name);
      assert.equal(run(`user.parseServiceAccount("${user}").Name`), want.Name);
    });
  }
  test('bad arg', () => rejected('parseServiceAccount(false)', /no matching overload/));
});

const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIC7TCCAdWgAwIBAgIBADANBgkqhkiG9w0BAQsFADAYMRYwFAYDVQQDDA0qLmt5
dmVybm8uc3ZjMB4XDTIyMTAxMDExNDYzMloXDTIzMTAxMDEyNDYzMlowGDEWMBQG
A1UEAwwNKi5reXZlcm5vLnN2YzCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoC
ggEBAOKF+2P0Ufp855hpdsGD4lYkd6oU7HZAOWm1XskAMwrdsqWwTNNAinyHRoPQ
IbNbGDQ+r6Cggc2mlxHJ90PnC2weHj5otaD17Z+ARZpJZ4HMWkEfFt8sxwo9vuQJ
RWihqNwFheowjswoSB1DHnPufrZHfztkMoRx278ZfHaIMdlSTg50ektkNDoHA3OJ
sxxw54X3HR1iq6SZwN8xNT0TI6B6BbfAYWMNmKCiZ2iV6kW//XnTEqGd2WcmhuP0
SjwO4tCJbj9oV6+Bj/uhFr7J4foErMaodYDBtQs/ul2tcAwSBHfnC2KcLbiZTZsC
0Rs0WPJ4YwF/cOsD7Z/RmLs4FHsCAwEAAaNCMEAwDgYDVR0PAQH/BAQDAgKkMA8G
A1UdEwEB/wQFMAMBAf8wHQYDVR0OBBYEFJaK+3Wfnf7rVkYBzMCLSaV56NMqMA0G
CSqGSIb3DQEBCwUAA4IBAQDY7F6b+t9BX7098JyGk6zeT39MoLdSv+8IaKXn+m8G
yOKn3CZkruko57ycvPd4taC0gggtmUYynFhwPMQr+boNrrK9rat8Jw3yPPsBq/8D
/s6tvwxSNXBfPUI5OvNIB/hA5XpJpdHQaCkYm+FWkcJsolkkbSOfVjUjImW26JHB
nnPPtR4Y7dx0SVoPS19IC0T5RmdvgqlXj4XbhTnX3QOujVHn8u+wQ8po7EngHDQs
+onfkp8ipe0QpEJL1ZdW2LhyDXGKrZ2y8UPZ9wYNzxHWaj1Thu4B9YFdsPUwWqSx
n9e+FygpoktlD8YgT7jwgiVKX7Koz++zyvMIdhvRrtgS
-----END CERTIFICATE-----`;

describe('x509: sdk/extensions/cel/libs/x509/impl_test.go (Test_decode)', () => {
  test('decode_certificate', () => {
    const result = evalRaw('x509.decode(cert)', runtime(), { cert: TEST_CERT }) as Record<string, unknown>;
    assert.equal(result.IsCA, true);
    assert.equal(result.BasicConstraintsValid, true);
    // encoding/json numbers: doubles, as the Go test's float64 expectations say.
    assert.equal(result.KeyUsage, 37);
    assert.equal(result.SerialNumber, 0);
    assert.equal(result.PublicKeyAlgorithm, 1);
    assert.equal(result.MaxPathLen, -1);
    assert.equal(result.MaxPathLenZero, false);
    assert.equal(result.NotBefore, '2022-10-10T11:46:32Z');
    assert.equal(result.NotAfter, '2023-10-10T12:46:32Z');
    const issuer = result.Issuer as Record<string, unknown>;
    assert.equal(issuer.CommonName, '*.kyverno.svc');
    assert.equal(issuer.SerialNumber, '');
    const publicKey = result.PublicKey as Record<string, unknown>;
    assert.equal(publicKey.E, 65537);
    assert.equal(publicKey.N, '28595925905962223424520947352207105451744616797088171943239289907331901888529856098458304611629660120574607501039902142361333982065793213267074854658525100799280158707840279479550961169213763526857247298653141711003931642606662052674943191476488665842309583311097351331994267413776792462637192775240062778036062353517979538994974045127175206597906751521558536719043095219698535279694800624795673809356898452438518041024126624051887044932164506019573725987204208750674129677584956156611454245004918943771571492757639432459688931855526941886354880727024912384140238027697348634609952850513122734230521040730560514233467');
    const extensions = result.Extensions as Array<Record<string, unknown>>;
    assert.equal(extensions.length, 3);
    assert.equal(extensions[0].Critical, true);
    for (const k of ['Raw', 'RawIssuer', 'RawSubject', 'RawSubjectPublicKeyInfo', 'RawTBSCertificate', 'Signature']) assert.ok(result[k], k);
    // CertificateOutput has no Subject field.
    assert.equal('Subject' in result, false);
  });
  test('SerialNumber is big.Int.Int64(): the low 64 bits of a 20-byte serial', () => {
    // Certificate of Kyverno's CLI test test/custom-functions (serial 5b19a3e3497e4c3549abdf17cbb73a2dea379e9f).
    const cert = `-----BEGIN CERTIFICATE-----
MIIDSjCCAjKgAwIBAgIUWxmj40l+TDVJq98Xy7c6Leo3np8wDQYJKoZIhvcNAQEL
BQAwPTELMAkGA1UEBhMCeHgxCjAIBgNVBAgTAXgxCjAIBgNVBAcTAXgxCjAIBgNV
BAoTAXgxCjAIBgNVBAsTAXgwHhcNMTgwMjAyMTIzODAwWhcNMjMwMjAxMTIzODAw
WjA9MQswCQYDVQQGEwJ4eDEKMAgGA1UECBMBeDEKMAgGA1UEBxMBeDEKMAgGA1UE
ChMBeDEKMAgGA1UECxMBeDCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEB
ANHkqOmVf23KMXdaZU2eFUx1h4wb09JINBB8x/HL7UE0KFJcnOoVnNQB0gRukUop
iYCzrzMFyGWWmB/pAEKool+ZiI2uMy6mcYBDtOi4pOm7U0TQQMV6L/5Yfi65xRz3
RTMd/tYAoFi4aCZbJAGjxU6UWNYDzTy8E/cP6ZnlNbVHRiA6/wHsoWcXtWTXYP5y
n9cf7EWQi1hOBM4BWmOIyB1f6LEgQipZWMOMPPHO3hsuSBn0rk7jovSt5XTlbgRr
txqAJiNjJUykWzIF+lLnZCioippGv5vkdGvE83JoACXvZTUwzA+MLu49fkw3bweq
kbhrer8kacjfGlw3aJN37eECAwEAAaNCMEAwDgYDVR0PAQH/BAQDAgEGMA8GA1Ud
EwEB/wQFMAMBAf8wHQYDVR0OBBYEFKXcb52bv6oqnD+D9fTNFHZL8IWxMA0GCSqG
SIb3DQEBCwUAA4IBAQADvKvv3ym0XAYwKxPLLl3Lc6sJYHDbTN0donduG7PXeb1d
huukJ2lfufUYp2IGSAxuLecTYeeByOVp1gaMb5LsIGt2BVDmlMMkiH29LUHsvbyi
85CpJo7A5RJG6AWW2VBCiDjz5v8JFM6pMkBRFfXH+pwIge65CE+MTSQcfb1/aIIo
Q226P7E/3uUGX4k4pDXG/O7GNvykF40v1DB5y7DDBTQ4JWiJfyGkT69TmdOGLFAm
jwxUjWyvEey4qJex/EGEm5RQcMv9iy7tba1wK7sykNGn5uDELGPGIIEAa5rIHm1F
UFOZZVoELaasWS559wy8og39Eq21dDMynb8Bndn/
-----END CERTIFICATE-----`;
    assert.equal(run('x509.decode(cert).SerialNumber', runtime(), { cert }), -3767478594394677601);
  });
  test('decode_invalid_pem', () => {
    assert.throws(() => run('x509.decode(cert)', runtime(), { cert: 'not a valid PEM' }), /failed to decode PEM block/);
  });
});

describe('json: sdk/extensions/cel/libs/json/impl_test.go', () => {
  describe('TestMarshalCELIntegration', () => {
    const cases: Array<[string, string, string]> = [
      ['marshal map literal', 'json.marshal({"key": "value"})', '{"key":"value"}'],
      ['marshal list literal', 'json.marshal([1, 2, 3])', '[1,2,3]'],
      ['marshal string', 'json.marshal("hello")', '"hello"'],
      ['marshal int', 'json.marshal(42)', '42'],
      ['marshal bool', 'json.marshal(true)', 'true'],
      ['roundtrip unmarshal then marshal', 'json.marshal(json.unmarshal("{\\"a\\":\\"b\\"}"))', '{"a":"b"}'],
    ];
    for (const [name, expr, want] of cases) test(name, () => assert.equal(run(expr), want));
  });
  describe('TestImplMarshal', () => {
    const cases: Array<[string, unknown, string]> = [
      ['marshal map', { foo: 'bar' }, '{"foo":"bar"}'],
      ['marshal list', ['a', 'b', 'c'], '["a","b","c"]'],
      ['marshal string', 'hello', '"hello"'],
      ['marshal int', 42n, '42'],
      ['marshal float', 3.14, '3.14'],
      ['marshal bool', true, 'true'],
      ['marshal empty map', {}, '{}'],
      ['marshal empty list', [], '[]'],
      ['marshal nested object', { outer: { inner: 'value' } }, '{"outer":{"inner":"value"}}'],
    ];
    for (const [name, input, want] of cases) test(name, () => assert.equal(run('json.marshal(v)', runtime(), { v: input }), want));
    test('a bare null is cel-go\'s NullValue enum, which encoding/json writes as 0', () => {
      assert.equal(run('json.marshal(null)'), '0');
      assert.equal(run('json.marshal(object)', runtime(), { object: { a: null } }), '{"a":null}');
    });
    test('encoding/json: sorted keys, HTML-safe escapes, exact int64', () => {
      assert.equal(run('json.marshal({"b": "<&>", "a": 9007199254740993})'), '{"a":9007199254740993,"b":"\\u003c\\u0026\\u003e"}');
    });
  });
  describe('TestImplUnmarshal', () => {
    test('success', () => assert.deepEqual(run('json.unmarshal(\'{"foo":"bar"}\')'), { foo: 'bar' }));
    test('value convert error', () => assert.throws(() => run('json.unmarshal(12345)'), /unsupported type conversion from 'int' to string/));
    test('unmarshal error: encoding/json messages', () => {
      assert.throws(() => run('json.unmarshal("")'), /^Error: unexpected end of JSON input$/);
      assert.throws(() => run('json.unmarshal("bad json")'), /^Error: invalid character 'b' looking for beginning of value$/);
      assert.throws(() => run('json.unmarshal(\'{"a" 1}\')'), /^Error: invalid character '1' after object key$/);
      assert.throws(() => run('json.unmarshal("[1,]")'), /^Error: invalid character ']' looking for beginning of value$/);
      assert.throws(() => run('json.unmarshal("{} x")'), /^Error: invalid character 'x' after top-level value$/);
    });
    test('numbers are doubles (Go decodes into float64)', () => assert.equal(evalRaw('json.unmarshal("[2]")[0]'), 2));
  });
});

describe('yaml: sdk/extensions/cel/libs/yaml/impl_test.go (TestImplParse)', () => {
  test('success - nested yaml', () => {
    const doc = 'species:\n  dog: lab\n  name: dory\n  isGoodBoi: false\nsnacks:\n- chimken\n- fries\n- pizza\n';
    assert.deepEqual(run('yaml.parse(s)', runtime(), { s: doc }), {
      species: { dog: 'lab', name: 'dory', isGoodBoi: false },
      snacks: ['chimken', 'fries', 'pizza'],
    });
  });
  test('value convert error (non-string)', () => rejected('yaml.parse(12345)', /no matching overload/));
  test('value is empty string', () => assert.equal(evalRaw('yaml.parse("")'), null));
  test('yaml scalar value (sigs.k8s.io/yaml decodes numbers as float64)', () => assert.equal(evalRaw('yaml.parse("42")'), 42));
  test('yaml list only', () => assert.deepEqual(run('yaml.parse("- a\\n- b\\n- c\\n")'), ['a', 'b', 'c']));
});

describe('math: sdk/extensions/cel/libs/math/impl_test.go (Test_round)', () => {
  test('round', () => assert.equal(run('math.round(10.125, 2)'), 10.13));
  test('round_zero', () => assert.equal(run('math.round(10.125, 0)'), 10));
  test('round_negative_precision', () => assert.equal(run('math.round(12345.6789, -2)'), 12300));
  test('only (double, int)', () => rejected('math.round(10, 2)', /no matching overload/));
});

describe('time: sdk/extensions/cel/libs/time/lib_test.go', () => {
  test('time_now', () => assert.ok(evalRaw('time.now() - duration("3h")') instanceof Date));
  test('time_truncate', () => assert.equal(run('time.truncate(timestamp("2025-01-02T03:45:27Z"), duration("1h"))'), '2025-01-02T03:00:00Z'));
  test('time_truncate: multiples since Go\'s zero time, not the Unix epoch', () => {
    // 17259888 hours separate 0001-01-01 and 1970-01-01: 2 more than a multiple of 7.
    assert.equal(run('time.truncate(timestamp("1970-01-01T00:00:00Z"), duration("7h"))'), '1969-12-31T22:00:00Z');
    assert.equal(run('time.truncate(timestamp("2025-01-02T03:45:27Z"), duration("0s"))'), '2025-01-02T03:45:27Z');
  });
  test('time_toCron', () => assert.equal(run('time.toCron(timestamp("2025-01-02T15:30:00Z"))'), '30 15 2 1 4'));
});

describe('random: sdk/extensions/cel/libs/random/impl_test.go', () => {
  test('random_string', () => {
    const pattern = '[A-Z0-9]{8}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{12}';
    assert.match(String(run(`random.random("${pattern}")`)), new RegExp(`^${pattern}$`));
    assert.match(String(run(`random("${pattern}")`)), new RegExp(`^${pattern}$`));
  });
  test('random_string_no_parameter', () => {
    assert.match(String(run('random.random()')), /^[0-9a-z]{8}$/);
    assert.match(String(run('random()')), /^[0-9a-z]{8}$/);
  });
});

describe('hash: sdk/extensions/cel/libs/hash/impl_test.go (Test_hashing)', () => {
  const cases: Array<[string, string]> = [
    ['sha1', '98f68a84cd3ada3a25bc42bf69ed8e0297e13022'],
    ['sha256', 'e98de8e3a54bcb921de9cc72741522823cb30ef9dda17cfd228416ead4ce3760'],
    ['md5', '16dc16f633974d1015cad2ffe81e7365'],
  ];
  for (const [fn, want] of cases) {
    test(`${fn}_string`, () => {
      assert.equal(run(`hash.${fn}("ghcr.io/kyverno/kyverno:latest")`), want);
      assert.equal(run(`${fn}("ghcr.io/kyverno/kyverno:latest")`), want);
    });
  }
});

describe('gzip: sdk/extensions/cel/libs/gzip/impl_test.go (Test_gzip)', () => {
  test('compress_base64', () => assert.equal(run('base64.encode(gzip.compress("kyverno"))'), 'H4sIAAAAAAAA/8quLEstyssHBAAA///oD5wzBwAAAA=='));
  test('decompress_base64', () => assert.equal(run('gzip.decompress(base64.decode("H4sIADP4umkAA8uuLEstyssHAOgPnDMHAAAA"))'), 'kyverno'));
  test('round trip of a longer, repetitive text', () => {
    assert.equal(run('gzip.decompress(gzip.compress(s)) == s', runtime(), { s: 'kyverno policy '.repeat(3000) }), true);
  });
  test('compress takes dyn but needs a string at run time', () => assert.throws(() => run('gzip.compress(1)'), /unsupported type conversion from 'int' to string/));
  test('decompress errors are compress/gzip\'s', () => {
    assert.throws(() => run('gzip.decompress(b"not gzip data")'), /gzip: invalid header/);
    assert.throws(() => run('gzip.decompress(b"")'), /EOF/);
  });
});

describe('transform: sdk/extensions/cel/libs/transform/impl_test.go', () => {
  const expr = (fn: string) => `${fn}(
    [{"name": "kyverno", "lfx": "mentorship"}, {"name": "kubernetes", "lfx": "something"}],
    [{"domain": "security"}, {"domain": "orchestration"}],
    "name", "domain")`;
  test('list_of_object_to_map', () => {
    assert.deepEqual(run(expr('transform.listObjToMap')), { kyverno: 'security', kubernetes: 'orchestration' });
    assert.deepEqual(run(expr('listObjToMap')), { kyverno: 'security', kubernetes: 'orchestration' });
  });
  test('lists of different lengths', () => {
    assert.throws(() => run('listObjToMap([{"k": "a"}], [], "k", "v")'), /listObjToMap must take lists of equal length\. list1: 1, list2: 0/);
  });
});

describe('generator: sdk/extensions/cel/libs/generator/impl_test.go', () => {
  test('Test_apply_generator_string_list: apply and Apply hand the resources over', () => {
    const rt = runtime();
    const list = '[{"apiVersion": dyn("apps/v1"), "kind": dyn("Deployment"), "metadata": dyn({"name": "name", "namespace": "namespace"})}]';
    assert.equal(run(`generator.apply("default", ${list})`, rt), true);
    assert.equal(run(`generator.Apply("default", ${list})`, rt), true);
    assert.equal(rt.generated.length, 2);
    assert.equal(rt.generated[0].kind, 'Deployment');
  });
  test('the list must hold maps', () => rejected('generator.apply("default", [1])', /no matching overload/));
});

describe('format: k8s.io/apiserver/pkg/cel/library/format.go (Kubernetes, in Kyverno\'s base environment)', () => {
  test('valid values give optional.none()', () => {
    for (const expr of [
      'format.dns1123Label().validate("my-label-name")',
      'format.dns1123Subdomain().validate("apiextensions.k8s.io")',
      'format.dns1035Label().validate("my-label-name")',
      'format.qualifiedName().validate("apiextensions.k8s.io/v1beta1")',
      'format.dns1123LabelPrefix().validate("my-label-prefix-")',
      'format.dns1123SubdomainPrefix().validate("mysubdomain.prefix.-")',
      'format.dns1035LabelPrefix().validate("my-label-prefix-")',
      'format.uri().validate("http://example.com")',
      'format.uuid().validate("123e4567-e89b-12d3-a456-426614174000")',
      'format.byte().validate("aGVsbG8=")',
      'format.date().validate("2021-01-01")',
      'format.datetime().validate("2021-01-01T00:00:00Z")',
    ]) assert.equal(run(`${expr}.hasValue()`), false, expr);
  });
  test('problems in apimachinery\'s words', () => {
    assert.deepEqual(run('format.dns1123Label().validate("a.b").value()'), ['must not contain dots']);
    assert.deepEqual(run('format.dns1123Label().validate("My_Name").value()'), [
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    ]);
    assert.deepEqual(run('format.labelValue().validate(s).value()', runtime(), { s: 'x'.repeat(64) }), ['must be no more than 63 bytes']);
    assert.deepEqual(run('format.uri().validate("foo").value()'), ['parse "foo": invalid URI for request']);
    assert.deepEqual(run('format.date().validate("2021-02-30").value()'), ['invalid date']);
  });
  test('format.named', () => {
    assert.equal(run('format.named("dns1123Subdomain").hasValue()'), true);
    assert.equal(run('format.named("unknown").hasValue()'), false);
    assert.equal(run('format.named("uuid").value().validate("nope").value()[0]'), 'does not match the UUID format');
  });
});

describe('regex: cel-go ext/regex_test.go (ext.Regex, in Kyverno\'s base environment)', () => {
  const facts: string[] = [
    "regex.replace('abc', '^', 'start_') == 'start_abc'",
    "regex.replace('abc', '$', '_end') == 'abc_end'",
    "regex.replace('a-b', r'\\b', '|') == '|a|-|b|'",
    "regex.replace('foo bar', '(fo)o (ba)r', r'\\2 \\1') == 'ba fo'",
    "regex.replace('foo bar', 'foo', r'\\\\') == '\\\\ bar'",
    "regex.replace('banana', 'ana', 'x') == 'bxna'",
    "regex.replace('abc', 'b(.)', r'x\\1') == 'axc'",
    "regex.replace('hello world hello', 'hello', 'hi') == 'hi world hi'",
    "regex.replace('ac', 'a(b)?c', r'[\\1]') == '[]'",
    "regex.replace('apple pie', 'p', 'X') == 'aXXle Xie'",
    "regex.replace('remove all spaces', r'\\s', '') == 'removeallspaces'",
    "regex.replace('digit:99919291992', r'\\d+', '3') == 'digit:3'",
    "regex.replace('foo bar baz', r'\\w+', r'(\\0)') == '(foo) (bar) (baz)'",
    "regex.replace('', 'a', 'b') == ''",
    "regex.replace('User: Alice, Age: 30', r'User: (?P<name>\\w+), Age: (?P<age>\\d+)', '${name} is ${age} years old') == '${name} is ${age} years old'",
    "regex.replace('User: Alice, Age: 30', r'User: (?P<name>\\w+), Age: (?P<age>\\d+)', r'\\1 is \\2 years old') == 'Alice is 30 years old'",
    "regex.replace('hello \u2603', '\u2603', '\u2744') == 'hello \u2744'",
    "regex.replace('id=123', r'id=(?P<value>\\d+)', r'value: \\1') == 'value: 123'",
    "regex.replace('banana', 'a', 'x') == 'bxnxnx'",
    "regex.replace(regex.replace('%(foo) %(bar) %2', r'%\\((\\w+)\\)', r'${\\1}'),r'%(\\d+)', r'$\\1') == '${foo} ${bar} $2'",
    "regex.replace('banana', 'a', 'x', 0) == 'banana'",
    "regex.replace('banana', 'a', 'x', 1) == 'bxnana'",
    "regex.replace('banana', 'a', 'x', 2) == 'bxnxna'",
    "regex.replace('banana', 'a', 'x', 100) == 'bxnxnx'",
    "regex.replace('banana', 'a', 'x', -1) == 'bxnxnx'",
    "regex.replace('banana', 'a', 'x', -100) == 'bxnxnx'",
    "regex.replace('cat-dog dog-cat cat-dog dog-cat', '(cat)-(dog)', r'\\2-\\1', 1) == 'dog-cat dog-cat cat-dog dog-cat'",
    "regex.replace('cat-dog dog-cat cat-dog dog-cat', '(cat)-(dog)', r'\\2-\\1', 2) == 'dog-cat dog-cat dog-cat dog-cat'",
    "regex.replace('a.b.c', r'\\.', '-', 1) == 'a-b.c'",
    "regex.replace('a.b.c', r'\\.', '-', -1) == 'a-b-c'",
    "regex.replace('abc def', r'(abc)', r'\\\\1') == r'\\1 def'",
    "regex.replace('abc def', r'(abc)', r'\\\\2') == r'\\2 def'",
    "regex.replace('abc def', r'(abc)', r'\\\\{word}') == '\\\\{word} def'",
    "regex.replace('abc def', r'(abc)', r'\\\\word') == '\\\\word def'",
    "regex.extract('hello world', 'hello(.*)') == optional.of(' world')",
    "regex.extract('item-A, item-B', r'item-(\\w+)') == optional.of('A')",
    "regex.extract('The color is red', r'The color is (\\w+)') == optional.of('red')",
    "regex.extract('The color is red', r'The color is \\w+') == optional.of('The color is red')",
    "regex.extract('brand', 'brand') == optional.of('brand')",
    "regex.extract('hello world', 'goodbye (.*)') == optional.none()",
    "regex.extract('HELLO', 'hello') == optional.none()",
    "regex.extract('', r'\\w+') == optional.none()",
    "regex.extract('4122345432', '22').or(optional.of('777')) == optional.of('22')",
    "regex.extract('4122345432', '22').orValue('777') == '22'",
    "regex.extractAll('id:123, id:456', 'assa') == []",
    "regex.extractAll('id:123, id:456', r'id:\\d+') == ['id:123', 'id:456']",
    "regex.extractAll('Files: f_1.txt, f_2.csv', r'f_(\\d+)') == ['1', '2']",
    "regex.extractAll('testuser@', '(?P<username>.*)@') == ['testuser']",
    "regex.extractAll('testuser@gmail.com, a@y.com, 2312321wsamkldjq2w2@sdad.com', '(?P<username>.*)@') == ['testuser@gmail.com, a@y.com, 2312321wsamkldjq2w2']",
    "regex.extractAll('testuser@gmail.com, a@y.com, 2312321wsamkldjq2w2@sdad.com', r'(?P<username>\\w+)@') == ['testuser', 'a', '2312321wsamkldjq2w2']",
    "regex.extractAll('banananana', '(ana)') == ['ana', 'ana']",
    "regex.extractAll('item:a1, topic:b2', r'(?:item:|topic:)([a-z]\\d)') == ['a1', 'b2']",
    "regex.extractAll('val=a, val=, val=c', 'val=([^,]*)') == ['a', 'c']",
    "regex.extractAll('key=, key=, key=', 'key=([^,]*)') == []",
    "regex.extractAll('a b c', r'(\\S*)\\s*') == ['a', 'b', 'c']",
  ];
  for (const expr of facts) test(expr, () => assert.equal(run(expr), true));
  const failures: Array<[string, string]> = [
    ["regex.extract('foo bar', '(')", "given regex is invalid: error parsing regexp: missing closing ): `(`"],
    ["regex.extractAll('foo bar', '[a-z')", "given regex is invalid: error parsing regexp: missing closing ]: `[a-z`"],
    ["regex.replace('id=123', r'id=(?P<value>\\d+)', r'value: \\values')", "invalid replacement string: 'value: \\values' \\ must be followed by a digit"],
    ["regex.replace('test', '(.)', r'\\2')", "replacement string references group 2 but regex has only 1 group(s)"],
    // cel-go writes this replacement as the raw string r'value: \'; cel-js's lexer cannot read a raw string ending in a backslash.
    ["regex.replace('id=123', r'id=(?P<value>\\d+)', 'value: \\\\')", "invalid replacement string: 'value: \\' \\ not allowed at end"],
    ["regex.replace('foofoo', 'foo', 'bar', 9223372036854775807)", "integer overflow"],
    ["regex.extract('phone: 415-5551212', r'phone: ((\\d{3})-)?')", "regular expression has more than one capturing group: \"phone: ((\\\\d{3})-)?\""],
    ["regex.extractAll('testuser@testdomain', '(.*)@([^.]*)')", "regular expression has more than one capturing group: \"(.*)@([^.]*)\""],
  ];
  for (const [expr, message] of failures) {
    test(`error: ${expr}`, () => assert.throws(() => run(expr), (err: Error) => err.message.includes(message)));
  }
  test('no overload for wrong argument types', () => rejected("regex.replace('abc', '^', 1)", /no matching overload/));
});
