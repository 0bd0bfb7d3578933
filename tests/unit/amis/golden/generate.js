#!/usr/bin/env node
/*
 * Golden verdicts from amis-core itself, for tests/unit/amis/test_golden.py.
 *
 * Runs amis-core's real `validations`, `validate`, `str2rules`, `tpl.filter`
 * and `evalExpression` over a table of cases and writes validations.json next
 * to this file. The server's Python rules must give the same verdict for
 * every case (or the test documents why not).
 *
 * Regenerate (amis-core 6.13.0, Node 20, in UTC so that local dates match the
 * server's). The "forms" part renders real AMIS forms (amis + React in jsdom),
 * hence the extra packages:
 *
 *   mkdir -p /tmp/amisgolden && cd /tmp/amisgolden && npm init -y >/dev/null
 *   npm install --legacy-peer-deps amis@6.13.0 amis-core@6.13.0 amis-ui@6.13.0 \
 *     amis-formula@6.13.0 react@18.3.1 react-dom@18.3.1 jsdom@24
 *   cd /work/main   # this repository
 *   NODE_PATH=/tmp/amisgolden/node_modules TZ=UTC node tests/unit/amis/golden/generate.js
 *
 * JSON cannot hold `undefined`: a case without a "value" key means the value
 * is undefined (a missing field); the same goes for entries of "values".
 */
'use strict';

const fs = require('fs');
const path = require('path');

const V = require('amis-core/lib/utils/validations');
const T = require('amis-core/lib/utils/tpl');
const AMIS_CORE_VERSION = JSON.parse(fs.readFileSync(
  path.join(path.dirname(require.resolve('amis-core')), '..', 'package.json'), 'utf8')).version;

if (AMIS_CORE_VERSION !== '6.13.0') {
  throw new Error(`expected amis-core 6.13.0, found ${AMIS_CORE_VERSION}`);
}
if (process.env.TZ !== 'UTC') {
  throw new Error('run with TZ=UTC');
}
console.warn = () => {}; // evalExpression logs the errors it swallows
require('moment').suppressDeprecationWarnings = true;

const U = undefined;

// ------------------------------------------------------------------ values

const COMMON = [
  U, null, '', ' ', '  \t', '\n', 'abc', 'ABC', 'abc123', 'a b', 'a_b-c', '123', '-12', '+12',
  '007', '1.5', '.5', '5.', '-0.5', '1e3', '1e', '1E-2', '0x1F', 'Infinity', '-Infinity', 'NaN',
  ' 12 ', '12abc', 0, 1, -1, 12, 1.5, -0.25, 0.1 + 0.2, 1e21, 1e-7, 123456789, 2 ** 53 + 2,
  true, false, [], ['a'], ['a', 'b'], [1, 2], [[1]], [null], {}, {a: 1},
  'é', 'É', 'ſ', '\u212a', 'Straße', 'ẞ', 'İ', 'ı', '😀', 'a😀', '日本語', '\u00a0', '\ufeff',
  'a\nb', 'abc\n', '١٢٣', '１２３', 'Ÿ', 'ÿ', 'Å', '\u212b',
];

const EMAILS = [
  'a@b.co', 'john.doe@example.com', 'John.Doe@Example.COM', 'a+tag@sub.example.org',
  'a@b', 'a@b.c', 'a@b.c1', 'a@-b.com', 'a@b-.com', 'a@b..com', 'a..b@c.com', '.a@b.com',
  'a.@b.com', 'a@b.com.', '"john doe"@example.com', '"a\\"b"@c.com', 'a@[127.0.0.1]',
  'a b@c.com', 'ab@c.com ', ' ab@c.com', 'ü@例え.jp', 'a@例え.テスト', 'a@b.c-d', 'a@b.cd-',
  'a@b_c.com', 'a@b~c.de', 'a@1.2.3.com', 'a@1.2', '😀@x.io', 'a@x.io😀', '@x.io', 'a@', 'a@@b.co',
  'a@b.co\n', 'x@y.\u00e9', 'ſ@x.io', '\u212a@x.io',
];

const URLS = [
  'http://example.com', 'https://example.com/path?q=1#f', 'HTTP://EXAMPLE.COM', 'ftp://a.b/c',
  'sftp://host', 'http://localhost', 'http://localhost:8080', 'http://10.0.0.1', 'http://127.0.0.1',
  'http://192.168.1.1', 'http://172.16.0.1', 'http://8.8.8.8', 'http://256.1.1.1', 'http://0.0.0.0',
  'http://user:pass@example.com', 'http://a-b.example.com', 'http://-a.com', 'http://a-.com',
  'http://例え.テスト', 'http://x.y', 'http://exa mple.com', 'mailto:a@b.co', 'example.com',
  'https://example.com:123456', 'https://example.com:80', 'ws://example.com', 'http://ex.com/a b',
  'data:text/plain;base64,SGVsbG8=', 'data:,hello', 'httpſ://example.com', 'http://ſ.com',
  'http://a.b.c.d.e.f.g.h', 'http://' + 'a-'.repeat(20) + '.com', 'http://a..b',
];

const PHONES = [
  '13800138000', '+86-13800138000', '12800138000', '1380013800', '138001380000', '+8613800138000',
  '010-12345678', '(010)12345678', '0755-1234567', ' 12345678', '12345678', '123456', '+86-010-1234567',
  13800138000,
];

const ZIPS = ['100000', '10000', '1000000', 'abcdef', '１００００１', 100000, '100 00'];

function checkChar(first17) {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * weights[i];
  return '10X98765432'[sum % 11];
}
const ID_BASES = [
  '11010519491231002', '44030419900307123', '31011519851020456', '11010118500102001',
  '11010118500101001', '11010118491231001', '11010120991231001', '11010119900230001',
  '11010119901301001', '11010119900132001', '99010119900101001', '11710119900101001',
  '11010100050607001', '11010100800101001', '91010119900101001', '82010119900101001',
];
const IDS = [];
for (const base of ID_BASES) {
  IDS.push(base + checkChar(base));
  IDS.push(base + (checkChar(base) === '0' ? '1' : '0'));
}
IDS.push('11010519491231002x', '110105194912310021', '110105491231002', '110105990230002',
  '110105000101002', '990105491231002', '11010549123100', 110105491231002, '110105491231002 ',
  '44030419900307123' + 'Y');

const DATES = [
  '2024-01-02', '2024-01-02 10:20', '2024-01-02T10:20:30', '2024-01-02T10:20:30Z',
  '2024-01-02T10:20:30.123Z', '2024-01-02T10:20:30+08:00', '2024-01-02T23:30:00-05:00',
  '2024-01-02T24:00', '2024-01-02T10', '2024-01', '2024', '20240102', '20240102T1020',
  '2024/01/02', '2024/1/2', '2024/02/30', '2024/01/02 10:20', '2024/01/02 10:20:30',
  '2024-02-30', '2024-13-01', '2023-02-29', '2024-02-29', '1700000000', '', 'abc', null, true,
  1704153600000, 1704153600001, [2024, 0, 2], [2024, 1, 30], [2024], 'Jan 2 2024',
];

// ------------------------------------------------------------------ cases

const ruleCases = [];
function ruleCase(rule, args, value, values) {
  const entry = {rule, args};
  if (value !== U) entry.value = value;
  if (values !== U) entry.values = values;
  try {
    entry.valid = !!V.validations[rule](values || {}, value, ...args);
  } catch (e) {
    entry.throws = String(e.message || e);
  }
  ruleCases.push(entry);
}

const NO_ARG_RULES = [
  'isRequired', 'isExisty', 'isUndefined', 'isEmptyString', 'isTrue', 'isFalse', 'isEmail', 'isUrl',
  'isNumeric', 'isAlpha', 'isAlphanumeric', 'isInt', 'isFloat', 'isWords', 'isSpecialWords',
  'isUrlPath', 'isJson', 'isPhoneNumber', 'isTelNumber', 'isZipcode', 'isId', 'isId18', 'isId15',
  'notEmptyString', 'isVariableName',
];
for (const rule of NO_ARG_RULES) {
  for (const value of COMMON) ruleCase(rule, [true], value);
}
for (const value of EMAILS) ruleCase('isEmail', [true], value);
for (const options of [true, {schemes: ['http']}, {allowLocal: false}, {allowDataUrl: true},
  {schemes: 'http'}, {schemes: ['ws', 'wss']}, {allowLocal: 0}]) {
  for (const value of URLS) ruleCase('isUrl', [options], value);
}
for (const rule of ['isPhoneNumber', 'isTelNumber']) {
  for (const value of PHONES) ruleCase(rule, [true], value);
}
for (const value of ZIPS) ruleCase('isZipcode', [true], value);
for (const rule of ['isId', 'isId18', 'isId15']) {
  for (const value of IDS) ruleCase(rule, [true], value);
}
for (const value of ['{}', '[]', '{"a":1}', '[1,2]', 'null', '1', '"a"', 'true', '{a:1}', "{'a':1}",
  ' {} ', '{"a":NaN}', '[1,]', '{"a":1}x', '\ufeff{}', '{"a":"\\ud800"}', '[Infinity]', '1e400',
  '{"a":01}', '\t[\n]\r']) {
  ruleCase('isJson', [true], value);
}
for (const value of ['abc', 'Abc Def', 'àéîõü', 'ÀÉÎÕÜ', 'Ÿ', 'ÿ', 'ſ', 'ẞ', 'Å', '\u212b',
  'ƀ', 'a\u00a0b', 'a\u2028b', 'ĳ', 'Ĳ', 'µ']) {
  ruleCase('isSpecialWords', [true], value);
  ruleCase('isWords', [true], value);
}
for (const value of ['a_b', '_a', '1a', 'a1', 'a-b', 'a$', 'ab c', 'A', '']) {
  ruleCase('isVariableName', [true], value);
  ruleCase('isUrlPath', [true], value);
}
ruleCase('isUrlPath', [true], 'a\\b');

const LENGTH_ARGS = [[3], ['3'], [0], ['abc'], [null], [true], [2.5], [' 3 '], [[3]], []];
const LENGTH_VALUES = [U, null, '', 'ab', 'abc', 'abcd', '😀', '😀a', 'ééé', 12, 123, 1234, 1.5,
  true, [], ['a'], ['ab', 'c'], {a: 1}, '   ', 'a\u0301b'];
for (const rule of ['minLength', 'maxLength', 'isLength']) {
  for (const args of LENGTH_ARGS) {
    for (const value of LENGTH_VALUES) ruleCase(rule, args, value);
  }
}

const LIMIT_ARGS = [[10], ['10'], ['abc'], [null], [0], [-1.5], ['1e1'], [' 10'], ['10px'], [true],
  [[10]], ['Infinity'], []];
const LIMIT_VALUES = [U, null, '', 5, 10, 11, -2, '5', '10', '11', '10.0', '1e1', '9.99', 'abc',
  '12abc', ' 11', true, false, [11], [5, 20], 'Infinity', '-Infinity', 0, '0x20', 1e21];
for (const rule of ['minimum', 'maximum', 'lt', 'gt']) {
  for (const args of LIMIT_ARGS) {
    for (const value of LIMIT_VALUES) ruleCase(rule, args, value);
  }
}

const EQUALS_ARGS = [['1'], [1], [true], [false], [null], ['abc'], [[1]], [0], [''], ['1.0'],
  [' 1 '], ['true'], [[]], ['a,b']];
const EQUALS_VALUES = [U, null, '', 1, '1', '01', 1.0, ' 1', true, false, 0, '0', 'abc', [1],
  ['1'], ['a', 'b'], [], {}, 'true', '1.0'];
for (const args of EQUALS_ARGS) {
  for (const value of EQUALS_VALUES) ruleCase('equals', args, value);
}
const OTHERS = [U, null, '', 'pw', 1, '1', true, [1], 0];
for (const other of OTHERS) {
  for (const value of [U, null, '', 'pw', 1, '1', 'PW', true, [1], 0, '0']) {
    const values = other === U ? {} : {other};
    ruleCase('equalsField', ['other'], value, values);
  }
}
ruleCase('equalsField', [], 'x', {undefined: 'x'});
ruleCase('equalsField', ['person.name'], 'x', {person: {name: 'x'}});
ruleCase('equalsField', ['person.name'], 'x', {'person.name': 'x'});

const REGEXPS = [
  '/^a/', '/^a/i', '^a', 'a$', '/a$/m', '/^a$/m', '/^[a-z]+$/i', '/^[a-z]+$/', '/\\d+/', '/^\\d+$/',
  '/^\\w+$/', '/^\\W+$/', '/^.$/', '/^.$/u', '/^..$/', '/^[\\u4e00-\\u9fa5]+$/', '/^\\s+$/',
  '/^\\S+$/', '/a.c/', '/\\bfoo\\b/', '/\\Bfoo/', 'matchRegexp:/x/', '/(a)\\1/', '/^[^]$/',
  '/^(?<y>a)\\k<y>$/', '/^\\u00e9$/i', '/^É$/i', '/^s$/i', '/^k$/i', '/^[^a-z]$/i',
  '/^[\\u00a1-\\uffff]+$/i', '/^[A-Z\\u00C0-\\u017F]+$/i', '/\\x41/', '/^\\101$/', '/[\\b]/',
  '/a{2}/', '/a{,2}/', '/^a{2,3}$/', '/^a+?$/', '/a|b/', '/^(?:a|b)c$/', '/^(?=a)\\w+$/',
  '/^(?!a)\\w+$/', '/(?<=a)b/', '/(?<!a)b/', '/^\\/path$/', '/^\\.$/', '/^\\cJ$/', '/^\\0$/',
  '/^[a-\\d]+$/', '/^a/gimuy', '/^a/y', '/^[\\w.-]+@[\\w-]+\\.[a-z]{2,}$/i', '/^1[3-9]\\d{9}$/',
  '/^\\+?[0-9 ()-]{7,20}$/', '/^[\\p{L} ]+$/u', '/^\\p{L}+$/', '/(/', '/a**/', '/[z-a]/', '/a{2,1}/',
  '/(?i)a/', '/a/ii', '/a/x', '/\\k<nope>/', '//', '/a/s', 'abc/', 5, null, ['/^a/'], '/^a\\/',
  '/^[\\]]$/', '/^[a\\-z]$/', '/^[-a]$/', '/^[a-]$/', '/}/', '/]/', '/^\\a$/', '/(a)|\\1b/',
  '/\\1(a)/', '/(a\\1)/', '/^(?<n$>a)$/', '/^\\u{1F600}$/u', '/^\\u{1F600}$/',
];
const REGEXP_VALUES = [U, null, '', 'a', 'A', 'abc', 'ABC', 'xa', 'a\nb', 'b\na', 'ab\n', 'aa', 'ab',
  'b', 'c', 'é', 'É', 'ſ', 's', 'S', 'k', 'K', '\u212a', '😀', '日本', ' ', '\u00a0', '\t', 'foo',
  'a foo', 'afoo', '/path', '.', '\n', '\0', '-', '1', '123', 'a-1', 'a@b.co', '13800138000',
  '+1 (555) 123-4567', 'abc', 'a{,2}', '\b', 'A', 'aac', 'bc', 'xb', 'ab', 'a,b', 123, true,
  ['a'], ['a', 'b'], {}, ']', '}', '\\a', 'bb', 'Ab'];
for (const arg of REGEXPS) {
  for (const value of REGEXP_VALUES) ruleCase('matchRegexp', [arg], value);
}
for (const n of [1, 2, 5, 9]) {
  for (const value of ['abc', 'ABC', '', U, 'x']) ruleCase(`matchRegexp${n}`, ['/^a/i'], value);
}

const DATE_TARGETS = ['2024-01-02', '2024-01-02T10:20:30Z', '2024/01/02', 1704153600000, '2023-12-31',
  'abc', null];
const GRANULARITIES = [U, 'day', 'days', 'd', 'month', 'M', 'year', 'hour', 'minute', 'second',
  'week', 'isoWeek', 'quarter', 'bogus', 'DAY'];
for (const rule of ['isDateTimeSame', 'isDateTimeBefore', 'isDateTimeAfter', 'isDateTimeSameOrBefore',
  'isDateTimeSameOrAfter']) {
  for (const target of DATE_TARGETS) {
    for (const value of DATES) ruleCase(rule, [target], value);
  }
  for (const granularity of GRANULARITIES) {
    for (const value of ['2024-01-02T23:59:59', '2024-01-01', '2024-01-07', '2024-01-08', '2024-03-31',
      '2024-04-01', '2023-12-31T23:59:59.999', '2024-01-02T10:20:30.5']) {
      ruleCase(rule, ['2024-01-02T10:20:30', granularity], value);
    }
  }
  ruleCase(rule, ['2000-01-01'], U);
  ruleCase(rule, ['2999-01-01'], U);
}
for (const bounds of [U, '()', '[]', '[)', '(]', '[', 'x']) {
  for (const value of ['2024-01-01', '2024-01-02', '2024-01-15', '2024-01-31', '2024-02-01', 'abc']) {
    for (const granularity of [U, 'day', 'month']) {
      ruleCase('isDateTimeBetween', ['2024-01-01', '2024-01-31', granularity, bounds], value);
    }
  }
}

// validate(): rule order, first failure, ${var} arguments and messages.
const validateCases = [];
function validateCase(rules, value, values, messages) {
  const entry = {rules};
  if (value !== U) entry.value = value;
  if (values !== U) entry.values = values;
  if (messages !== U) entry.messages = messages;
  try {
    entry.result = V.validate(value, values || {}, rules, messages);
  } catch (e) {
    entry.throws = String(e.message || e);
  }
  validateCases.push(entry);
}
const RULE_SETS = [
  {isRequired: true}, {isEmail: true, isRequired: true}, {minLength: 3, maxLength: 5},
  {isRequired: true, minLength: 3}, {minLength: 3, isRequired: true}, {isNumeric: true, minimum: 10},
  {matchRegexp: '/^a/', matchRegexp1: '/b$/'}, {isEmail: false, minLength: 0}, {minLength: 0},
  {maxLength: 0}, {isRequired: ''}, {isRequired: null}, {isRequired: 0}, {notARule: true},
  {notARule: false}, {minimum: '${low}'}, {maximum: '$high'}, {minLength: '${len}'},
  {equals: '${expected}'}, {isLength: [3]}, {isUrl: {schemes: ['https']}}, {equalsField: 'other'},
  {minimum: '${low + 1}'}, {minLength: '${missing}'}, {maxLength: ['${len}']},
  {matchRegexp: '${pattern}'},
];
const VALIDATE_VALUES = [U, null, '', 'a', 'abc', 'abcdef', 'a@b.co', 5, 12, ['a'], [], 'ab'];
const SCOPE = {low: 10, high: '20', len: 2, expected: 'abc', other: 'abc', pattern: '/^a/'};
for (const rules of RULE_SETS) {
  for (const value of VALIDATE_VALUES) validateCase(rules, value, SCOPE);
}
const MESSAGES = [
  {minLength: 'At least $1 letters', maxLength: 'At most $1', isRequired: 'Needed!'},
  {minLength: '$1-$2-$0 ${1} \\$1 $1abc $$', equals: 'must be "$1"'},
  {minLength: ''}, {minLength: 'v=${'}, {equals: 'v=$1.', isRequired: 'x'},
];
for (const messages of MESSAGES) {
  validateCase({isRequired: true, minLength: 3, maxLength: 4}, 'ab', SCOPE, messages);
  validateCase({isRequired: true, minLength: 3, maxLength: 4}, 'abcdef', SCOPE, messages);
  validateCase({isRequired: true}, '', SCOPE, messages);
  validateCase({equals: 'abc'}, 'x', SCOPE, messages);
  validateCase({equals: [['a', 'b']]}, 'x', SCOPE, messages);
  validateCase({equals: [null]}, 'x', SCOPE, messages);
  validateCase({equals: [1.5]}, 'x', SCOPE, messages);
  validateCase({equals: [true]}, 'x', SCOPE, messages);
  validateCase({minLength: [3, 'x']}, 'ab', SCOPE, messages);
  validateCase({minLength: 3}, ['a'], SCOPE, messages);
}

// str2rules(): the string form of `validations`.
const STR2RULES = [
  'isEmail', 'isEmail,minLength:3', 'isEmail, minLength:3', 'minLength:3,maxLength:10',
  'matchRegexp:/^a,b/i', 'isEmail,matchRegexp:/^a,b/i', 'isEmail, matchRegexp:/^a,b/i',
  'matchRegexp1:/^a/,matchRegexp2:/b$/', 'matchRegexp: /^a/', 'matchRegexp:^a,b$', 'minLength: 3',
  'minLength :3', 'equals:abc', 'equals:"abc"', 'equals:1.0', 'equals:01', 'equals:[1,2]',
  'isUrl:{"schemes":["a","b"]}', 'isUrl:{"schemes":["a"]}', 'isLength:5', 'isDateTimeBetween:a,b',
  'minLength:3,minLength:5', 'isEmail,,minLength:3', '', ',', 'a:', ':a', 'equals:', 'equals:true',
  'equals:null', 'equals:NaN', 'maximum:1e3', 'equals:[1', 'matchRegexp:/a/gi,isEmail',
  'matchRegexp:/a/x,isEmail', 'matchRegexp:/a/\n,isEmail', 'matchRegexp:/a\nb/,isEmail',
  ' isEmail ', 'isEmail\t,\tisUrl', 'equals:"a,b"', 'equals:{"a":1}', 'equals: 12345678901234567890',
  'matchRegexp:/a/,matchRegexp:/b/',
];
const str2rulesCases = STR2RULES.map(input => ({input, rules: V.str2rules(input)}));

// Message templates (tpl.filter as validate() uses it).
const templateCases = [];
for (const template of ['plain', 'at least $1', '$1 and $2', '$0|$1|$3', '${1}', '\\$1', '$1abc',
  '$1.x', '$$', '${"s"}', 'v=${', '${1 == 1}', '$a', '${a}', 'x $1 y $1']) {
  for (const args of [[3], ['a', 'b'], [[1, 2]], [null], [true], [1.5], [{a: 1}], []]) {
    templateCases.push({template, args, text: T.filter(template, Object.assign({}, [''].concat(args)))});
  }
}

// evalExpression(): hiddenOn / visibleOn / requiredOn.
const expressionCases = [];
const clone = value => JSON.parse(JSON.stringify(value));
function expressionCase(expression, data, parent) {
  // Fresh copies: an expression such as "a = 1" assigns through `with (data)`.
  let scope = clone(data);
  if (parent !== U) {
    scope = Object.assign(Object.create(clone(parent)), scope);
  }
  const globals = new Set(Object.keys(globalThis));
  const entry = {expression, data};
  if (parent !== U) entry.parent = parent;
  entry.result = T.evalExpression(expression, scope);
  for (const key of Object.keys(globalThis)) {
    if (!globals.has(key)) delete globalThis[key];
  }
  expressionCases.push(entry);
}
const DATA = [
  {}, {a: 1}, {a: '1'}, {a: 0}, {a: '0'}, {a: ''}, {a: null}, {a: true}, {a: false}, {a: 'x'},
  {a: [1]}, {a: []}, {a: {b: 2}}, {a: 2, b: '10'}, {a: 'abc', b: 'abd'}, {a: '😀', b: '\uffff'},
  {person: {name: 'Ann', age: 17}}, {person: null}, {country: 'FR', age: 20},
  {country: 'fr', age: '9'}, {tags: ['x', 'y']}, {a: 1, b: 1}, {data: {a: 5}}, {this: {a: 3}},
];
const EXPRESSIONS = [
  'a == 1', 'a === 1', 'a != 1', 'a !== 1', 'a == "1"', 'a === "1"', 'a > 0', 'a >= 1', 'a < 2',
  'a <= "1"', '!a', '!!a', 'a', 'a && b', 'a || b', 'a == 1 && b == 1', 'a == 1 || b == 1',
  '!(a == 1)', '(a == 1 || a == 2) && b', 'this.a == 1', 'this.a', 'this.a.b == 2', 'a.b == 2',
  'a.b', 'data.a == 1', 'data.a.b', 'a == null', 'a === null', 'a == undefined', 'a === undefined',
  'a == true', 'a == false', 'a == ""', 'a == 0', 'a == "0"', 'a < b', 'a > b', 'a <= b',
  'a.length > 0', 'a.length', 'a[0] == 1', 'a["b"] == 2', 'tags.length == 2', 'tags[1] == "y"',
  'person.age >= 18', 'person && person.age >= 18', 'this.person.age < 18',
  'country == "FR" && age >= 18', "country == 'FR' || country == 'fr'", 'age > 10', 'age >= "18"',
  '-a < 0', '+a == 1', 'a == -1', 'a == 1.0', 'a == 1e0', 'a == .5', 'a == 0x1', 'NaN == NaN',
  'undefined == null', 'a == Infinity',
  '${a == 1}', '${a === 1}', '${a != 1}', '${a !== "1"}', '${a > 0}', '${a < 2}', '${!a}', '${a}',
  '${a && b}', '${a || b}', '${this.a == 1}', '${this.a}', '${a.b == 2}', '${a.b}', '${data.a}',
  '${person.age >= 18}', '${person.age < 18}', '${person.name == "Ann"}', "${country == 'FR'}",
  '${a == null}', '${a == undefined}', '${a == true}', '${a == TRUE}', '${a == Null}', '${!!a}',
  '${a.length}', '${a[0] == 1}', '${a["b"]}', '${tags.length == 2}', '${!(a == 1)}',
  '${(a == 1 || a == 2) && b}', '${a} == 1', '${a}${b}', '${a} ', ' ${a}', '${a}x', '${a} || ${b}',
  '${ a == 1 }', '${a == "x"}', '${a < b}', '${a <= b}', '${-a < 0}', '${a == 1.0}', '${a.b.c}',
  '${this}', '${$$}', '$a', 'a ==', '(a', 'a = 1', 'a == 1;', 'a ? 1 : 0', 'a + 1 > 1',
  '${a + 1 > 1}', '${a ? 1 : 0}', 'a.b.c', 'missing == 1', '!missing', 'missing', 'a && missing',
  'a || missing', 'true', 'false', '1', '0', '""', '"0"', 'null', ' ', '  a == 1  ', '${}',
];
for (const expression of EXPRESSIONS) {
  for (const data of DATA) expressionCase(expression, data);
}
// A combo row: its own data over the form's.
for (const expression of ['a == 1', 'b == 2', 'this.b == 2', '${b == 2}', '${a == 1}', 'this.a == 1',
  'a == 1 && b == 2', 'index == 0', 'missing']) {
  expressionCase(expression, {a: 1}, {b: 2});
  expressionCase(expression, {}, {a: 1, b: 2});
  expressionCase(expression, {a: 2}, {a: 1});
}

// ------------------------------------------------------------------ whole forms

// Real AMIS forms rendered in jsdom: which rule fails first for each field
// (rule composition from props, visibility, combo rows), as a registrant sees it.
const FORM_CASES = [];
function formCase(id, body, data) {
  FORM_CASES.push({id, body, data});
}
const OPTS = [{label: 'A', value: 'a'}, {label: 'B', value: 'b'}];
const txt = (name, props) => Object.assign({type: 'input-text', name}, props);
for (const value of [U, '', '  ', 'ab', 'abcdef']) {
  const data = value === U ? {} : {f: value};
  formCase(`text-required-${JSON.stringify(value)}`, [txt('f', {required: true})], data);
  formCase(`text-lengths-${JSON.stringify(value)}`, [txt('f', {required: true, minLength: 3, maxLength: 5})], data);
  formCase(`textarea-lengths-${JSON.stringify(value)}`,
    [{type: 'textarea', name: 'f', minLength: 3, maxLength: 5}], data);
  formCase(`password-length-props-${JSON.stringify(value)}`,
    [{type: 'input-password', name: 'f', required: true, minLength: 3, maxLength: 5}], data);
  formCase(`password-length-rules-${JSON.stringify(value)}`,
    [{type: 'input-password', name: 'f', validations: {minLength: 3, maxLength: 5}}], data);
  formCase(`rules-then-props-${JSON.stringify(value)}`,
    [txt('f', {validations: {maxLength: 4, minLength: 1}, minLength: 3})], data);
}
for (const value of [U, '', 'x@', 'ab', 'abc@', 'ann@example.org', 'a@b.co']) {
  const data = value === U ? {} : {e: value};
  formCase(`email-${JSON.stringify(value)}`, [{type: 'input-email', name: 'e'}], data);
  formCase(`email-required-${JSON.stringify(value)}`, [{type: 'input-email', name: 'e', required: true}], data);
  formCase(`email-rules-${JSON.stringify(value)}`,
    [{type: 'input-email', name: 'e', required: true, validations: {minLength: 3}}], data);
  formCase(`email-rules-isEmail-first-${JSON.stringify(value)}`,
    [{type: 'input-email', name: 'e', validations: {isEmail: true, minLength: 8}}], data);
  formCase(`url-${JSON.stringify(value)}`, [{type: 'input-url', name: 'e', required: true}], data);
  formCase(`text-string-rules-${JSON.stringify(value)}`, [txt('e', {validations: 'isEmail,minLength:3'})], data);
  formCase(`text-string-rules-reversed-${JSON.stringify(value)}`,
    [txt('e', {validations: 'minLength:3,isEmail', required: true})], data);
}
formCase('email-string-validations', [{type: 'input-email', name: 'e', validations: 'minLength:3'}], {e: 'ab'});
formCase('url-string-validations', [{type: 'input-url', name: 'e', validations: 'minLength:3'}], {e: 'ab'});
for (const value of ['17', '18', 'x', '']) {
  formCase(`numeric-minimum-${value}`, [txt('n', {validations: {isNumeric: true, minimum: 18}})], {n: value});
  formCase(`messages-${value}`, [txt('n', {validations: {isNumeric: true, minimum: 18},
    validationErrors: {minimum: 'At least $1'}, required: true})], {n: value});
}
for (const value of ['abc', 'abz', 'xyz']) {
  formCase(`numbered-regexps-${value}`,
    [txt('r', {validations: {matchRegexp1: '/^a/', matchRegexp2: '/z$/'}})], {r: value});
}
for (const [password, confirm] of [['a', 'a'], ['a', 'b'], ['a', ''], ['', '']]) {
  formCase(`equalsField-${password}-${confirm}`, [{type: 'input-password', name: 'password'},
    {type: 'input-password', name: 'confirm', validations: {equalsField: 'password'}}], {password, confirm});
}
formCase('variable-argument', [{type: 'hidden', name: 'min'}, txt('code', {validations: {minLength: '${min}'}})],
  {min: 4, code: 'abc'});
for (const value of [U, 0, 5, 17]) {
  const data = value === U ? {} : {n: value};
  formCase(`number-${value}`, [{type: 'input-number', name: 'n', required: true, validations: {minimum: 10}}], data);
}
for (const [type, value] of [['select', ''], ['select', 'a'], ['radios', ''], ['radios', 'b'], ['checkboxes', ''],
  ['checkboxes', 'a,b'], ['checkboxes', 'a']]) {
  formCase(`${type}-${value}`, [{type, name: 's', options: OPTS, required: true, validations: {maxLength: 1}}],
    {s: value});
}
formCase('select-multiple', [{type: 'select', name: 's', multiple: true, options: OPTS, required: true,
  validations: {maxLength: 1}}], {s: 'a,b'});
for (const value of [true, false]) {
  formCase(`checkbox-required-${value}`, [{type: 'checkbox', name: 'c', required: true}], {c: value});
  formCase(`checkbox-isTrue-${value}`, [{type: 'checkbox', name: 'c', validations: {isTrue: true}}], {c: value});
  formCase(`switch-required-${value}`, [{type: 'switch', name: 'c', required: true}], {c: value});
}
formCase('tag-required', [{type: 'input-tag', name: 't', required: true}], {});
formCase('tag-maxLength-rule', [{type: 'input-tag', name: 't', validations: {maxLength: 3}}], {t: 'ab,cd'});
formCase('hidden-rule', [{type: 'hidden', name: 'h', validations: {isInt: true}}], {h: 'x'});
formCase('date-rule', [{type: 'input-date', name: 'd', valueFormat: 'YYYY-MM-DD',
  validations: {isDateTimeAfter: '2024-01-01'}}], {d: '2023-12-31'});
formCase('date-rule-ok', [{type: 'input-date', name: 'd', valueFormat: 'YYYY-MM-DD',
  validations: {isDateTimeAfter: '2024-01-01'}}], {d: '2024-01-02'});
for (const value of ['2024-01-02 10:20:30', '2024-01-03 00:00:00', '']) {
  formCase(`datetime-${value}`, [{type: 'input-datetime', name: 'd', valueFormat: 'YYYY-MM-DD HH:mm:ss',
    required: true, validations: {isDateTimeBefore: ['2024-01-02T23:59:59', 'day']}}], {d: value});
}
formCase('select-extract-values', [{type: 'select', name: 's', multiple: true, joinValues: false, extractValue: true,
  options: OPTS, required: true, validations: {minLength: 6}}], {s: ['a']});
formCase('dotted-names', [txt('person.name', {required: true}), {type: 'input-email', name: 'person.contact.email'}],
  {person: {name: '', contact: {email: 'x'}}});

const company = condition => Object.assign(txt('company', {required: true}), condition);
const kind = {type: 'radios', name: 'kind', options: [{label: 'Pro', value: 'pro'}, {label: 'Private', value: 'private'}]};
const CONDITIONS = [
  {visibleOn: "${kind == 'pro'}"}, {visibleOn: "kind == 'pro'"}, {visibleOn: "this.kind == 'pro'"},
  {hiddenOn: "${kind != 'pro'}"}, {hiddenOn: "this.kind != 'pro'"}, {hiddenOn: "kind != 'pro'"},
  {visibleOn: '${kind}'}, {hidden: true}, {visible: false}, {hidden: true, visibleOn: "${kind == 'pro'}"},
  {visible: false, hiddenOn: '${!kind}'}, {requiredOn: "${kind == 'pro'}", required: false},
  {visibleOn: "${kind == 'pro' && age >= 18}"}, {visibleOn: '${age > 17 || !kind}'},
];
for (const condition of CONDITIONS) {
  for (const data of [{}, {kind: 'pro'}, {kind: 'private'}, {kind: 'pro', age: 20}, {kind: 'pro', age: '9'}]) {
    formCase(`condition-${JSON.stringify(condition)}-${JSON.stringify(data)}`, [kind, company(condition)], data);
  }
}
for (const container of [{type: 'group', body: [company({})]}, {type: 'fieldset', body: [company({})]},
  {type: 'grid', columns: [{body: [company({})]}]}]) {
  for (const data of [{kind: 'pro'}, {kind: 'private'}]) {
    formCase(`container-${container.type}-${data.kind}`,
      [kind, Object.assign({visibleOn: "${kind == 'pro'}"}, container)], data);
    formCase(`container-${container.type}-hidden-${data.kind}`, [kind, Object.assign({hidden: true}, container)], data);
    formCase(`container-${container.type}-invisible-${data.kind}`,
      [kind, Object.assign({visible: false}, container)], data);
  }
}
const guests = props => Object.assign({type: 'combo', name: 'guests', multiple: true, items: [
  txt('name', {required: true}), {type: 'input-email', name: 'email'},
  txt('meal', {required: true, visibleOn: '${dinner}'})]}, props);
for (const rows of [[], [{name: 'Ann'}], [{name: 'Ann', email: 'x'}, {name: ''}], [{name: 'A'}, {name: 'B'}, {name: 'C'}]]) {
  for (const dinner of [false, true]) {
    formCase(`combo-${JSON.stringify(rows)}-${dinner}`, [{type: 'switch', name: 'dinner'}, guests({})],
      {dinner, guests: rows});
  }
  formCase(`combo-limits-${JSON.stringify(rows)}`, [guests({minLength: 1, maxLength: 2})], {guests: rows});
}
formCase('combo-row-own-field', [{type: 'combo', name: 'people', multiple: true, items: [
  txt('role'), txt('badge', {required: true, visibleOn: "${role == 'speaker'}"})]}],
  {role: 'speaker', people: [{role: 'guest'}, {role: 'speaker'}]});
for (const column of [{hidden: true}, {visible: false}, {hiddenOn: "${kind != 'pro'}"}]) {
  for (const data of [{kind: 'pro'}, {kind: 'private'}]) {
    formCase(`grid-column-${JSON.stringify(column)}-${data.kind}`,
      [kind, {type: 'grid', columns: [Object.assign({body: [company({})]}, column)]}], data);
  }
}
formCase('combo-single', [{type: 'combo', name: 'address', items: [txt('city', {required: true}),
  txt('zip', {validations: {isZipcode: true}})]}], {address: {city: '', zip: '12'}});

function setUpBrowser() {
  const {JSDOM} = require('jsdom');
  const dom = new JSDOM('<!doctype html><html><body></body></html>', {url: 'http://localhost/', pretendToBeVisual: true});
  global.window = dom.window;
  for (const key of Object.getOwnPropertyNames(dom.window)) {
    if (!(key in global)) {
      try { global[key] = dom.window[key]; } catch (e) { /* read-only */ }
    }
  }
  global.navigator = dom.window.navigator;
  for (const name of ['DragEvent', 'ClipboardEvent', 'TouchEvent', 'PointerEvent', 'InputEvent']) {
    if (!global[name]) global[name] = class extends dom.window.Event {};
  }
  const inert = class { observe() {} unobserve() {} disconnect() {} };
  global.ResizeObserver = global.IntersectionObserver = inert;
  global.matchMedia = dom.window.matchMedia = () => ({matches: false, addListener() {}, removeListener() {},
    addEventListener() {}, removeEventListener() {}});
  global.requestAnimationFrame = fn => setTimeout(fn, 0);
  global.cancelAnimationFrame = id => clearTimeout(id);
}

function loadAmis() {
  const amis = require('amis');
  const amisVersion = JSON.parse(fs.readFileSync(
    path.join(path.dirname(require.resolve('amis')), '..', 'package.json'), 'utf8')).version;
  if (amisVersion !== AMIS_CORE_VERSION) {
    throw new Error(`expected amis ${AMIS_CORE_VERSION}, found ${amisVersion}`);
  }
  // amis loads renderers lazily with AMD require(), which Node lacks: load them all up front.
  const dir = path.join(path.dirname(require.resolve('amis')), 'renderers');
  (function load(folder) {
    for (const name of fs.readdirSync(folder)) {
      const full = path.join(folder, name);
      if (fs.statSync(full).isDirectory()) load(full);
      else if (name.endsWith('.js')) require(full);
    }
  })(dir);
  return amis;
}

async function runForm(amis, React, ReactDOM, body, data) {
  let scope;
  const container = document.createElement('div');
  document.body.appendChild(container);
  const root = ReactDOM.createRoot(container);
  const env = {fetcher: async () => ({ok: true, status: 0, data: {}}), notify() {}, alert() {},
    confirm: async () => true, isCancel: () => false};
  const schema = {type: 'form', name: 'theform', wrapWithPanel: false, body};
  root.render(amis.render(schema, {data: clone(data), locale: 'en-US', scopeRef: s => { scope = s; }}, env));
  // Wait until every store (combo rows included) has registered.
  let count = -1;
  for (let settled = 0; settled < 3;) {
    await new Promise(resolve => setTimeout(resolve, 100));
    const now = Object.keys(scope ? scope.getComponentByName('theform').props.rootStore.stores : {}).length;
    settled = now === count ? settled + 1 : 0;
    count = now;
  }
  const form = scope.getComponentByName('theform');
  let valid;
  try {
    valid = await form.validate(true);
  } catch (e) {
    root.unmount();
    return {throws: String(e.message || e)};
  }
  // Name every item store with errors: combo rows live in their own form stores.
  const stores = form.props.rootStore.stores;
  const byId = id => stores[id];
  const nameOf = item => {
    const owner = byId(item.parentId);
    if (!owner || owner === form.props.store) return item.name;
    const combo = byId(owner.parentId);
    const comboItem = Object.values(stores).find(s => s.storeType === 'FormItemStore' && s.path === combo.path);
    const index = owner.data && owner.data.__index;  // -1 in a single (object) combo
    return [nameOf(comboItem), index >= 0 ? index : undefined, item.name]
      .filter(part => part !== undefined).join('.');
  };
  const formId = form.props.store.id;
  const belongs = store => {
    for (let s = store; s; s = byId(s.parentId)) {
      if (s.id === formId) return true;
    }
    return false;
  };
  const errors = {};
  for (const item of Object.values(stores)) {
    if (item.storeType === 'FormItemStore' && item.errorData.length && belongs(item)) {
      errors[nameOf(item)] = item.errorData.map(e => ({rule: e.rule || '', tag: e.tag, msg: e.msg}));
    }
  }
  root.unmount();
  container.remove();
  await new Promise(resolve => setTimeout(resolve, 50));
  return {valid, errors};
}

async function formCases() {
  setUpBrowser();
  const quiet = console.error;
  console.error = () => {};
  const React = require('react');
  const ReactDOM = require('react-dom/client');
  const amis = loadAmis();
  const results = [];
  for (const {id, body, data} of FORM_CASES) {
    results.push(Object.assign({id, body, data}, await runForm(amis, React, ReactDOM, body, data)));
  }
  console.error = quiet;
  return results;
}

(async () => {
  const forms = await formCases();
  const out = {
    generator: 'tests/unit/amis/golden/generate.js',
    amis_core_version: AMIS_CORE_VERSION,
    node_version: process.version,
    timezone: process.env.TZ,
    generated_on: new Date().toISOString().slice(0, 10),
    rules: ruleCases,
    validate: validateCases,
    str2rules: str2rulesCases,
    templates: templateCases,
    expressions: expressionCases,
    forms,
  };
  const target = path.join(__dirname, 'validations.json');
  // One case per line keeps diffs readable.
  const text = '{\n' + Object.entries(out).map(([key, value]) => JSON.stringify(key) + ': ' +
    (Array.isArray(value) ? '[\n' + value.map(v => JSON.stringify(v)).join(',\n') + '\n]' : JSON.stringify(value)))
    .join(',\n') + '\n}\n';
  fs.writeFileSync(target, text);
  const total = ruleCases.length + validateCases.length + str2rulesCases.length + templateCases.length +
    expressionCases.length + forms.length;
  console.log(`wrote ${total} cases to ${target}`);
  process.exit(0);
})().catch(error => {
  console.log(error);
  process.exit(1);
});
