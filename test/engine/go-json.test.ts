// engine/core/go-json: encoding/json.Unmarshal's scanner messages (Go 1.2x encoding/json/scanner.go).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goJsonSyntaxError, goJsonUnmarshal } from '../../engine/core/go-json';

test('valid JSON decodes like JSON.parse', () => {
  for (const text of ['{}', '[]', ' {"a": [1, -2.5e3, true, null, "x\\u00e9"]} ', '0', '"\\n"']) {
    assert.equal(goJsonSyntaxError(text), null, text);
    assert.deepEqual(goJsonUnmarshal(text), JSON.parse(text));
  }
});

test('syntax errors name the byte and where the scanner was', () => {
  const cases: Array<[string, string]> = [
    ['', 'unexpected end of JSON input'],
    ['{', 'unexpected end of JSON input'],
    ['x', "invalid character 'x' looking for beginning of value"],
    ['{a}', "invalid character 'a' looking for beginning of object key string"],
    ['{"a" 1}', "invalid character '1' after object key"],
    ['{"a": 1 "b"}', `invalid character '"' after object key:value pair`],
    ['[1 2]', "invalid character '2' after array element"],
    ['[1,]', "invalid character ']' looking for beginning of value"],
    ['tru', 'unexpected end of JSON input'],
    ['trUe', "invalid character 'U' in literal true (expecting 'u')"],
    ['nul!', "invalid character '!' in literal null (expecting 'l')"],
    ['-a', "invalid character 'a' in numeric literal"],
    ['1.e5', "invalid character 'e' after decimal point in numeric literal"],
    ['1e+x', "invalid character 'x' in exponent of numeric literal"],
    ['01', "invalid character '1' after top-level value"],
    ['"\\q"', "invalid character 'q' in string escape code"],
    ['"\\u12g4"', "invalid character 'g' in \\u hexadecimal character escape"],
    ['"a\nb"', "invalid character '\\n' in string literal"],
    ["'a'", "invalid character '\\'' looking for beginning of value"],
    ['{} {}', "invalid character '{' after top-level value"],
  ];
  for (const [text, message] of cases) assert.equal(goJsonSyntaxError(text), message, JSON.stringify(text));
  assert.throws(() => goJsonUnmarshal('[1,]'), /looking for beginning of value/);
});
