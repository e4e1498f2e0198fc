import { InvalidArgumentError } from 'commander';
import { collectAttribute, parseDuration, parseIdempotencyKey, parseJsonObject, parseKey, parseKeyList, parseOnOff, parsePercentage, parsePositiveInt, parseTime } from './arguments.js';

describe('argument parsers', () => {
  it('keys: the API key pattern, refused before anything is sent', () => {
    expect(parseKey('checkout_v2-beta')).toBe('checkout_v2-beta');
    for (const bad of ['Checkout', '', '-a', 'a.b', 'x'.repeat(101)]) expect(() => parseKey(bad)).toThrow(InvalidArgumentError);
    expect(parseKeyList('production, staging,production')).toEqual(['production', 'staging']);
    expect(() => parseKeyList('production,EU')).toThrow(/"EU"/);
    expect(() => parseKeyList(' , ')).toThrow(InvalidArgumentError);
  });

  it('percentages 0-100 with fractions; whole numbers from 1', () => {
    expect([parsePercentage('0'), parsePercentage('12.5'), parsePercentage('100')]).toEqual([0, 12.5, 100]);
    for (const bad of ['-1', '100.01', 'ten', '', 'NaN', 'Infinity']) expect(() => parsePercentage(bad)).toThrow(InvalidArgumentError);
    expect(parsePositiveInt('42')).toBe(42);
    for (const bad of ['0', '-3', '1.5', 'x']) expect(() => parsePositiveInt(bad)).toThrow(InvalidArgumentError);
  });

  it('durations: ms, s, m, h, d; a bare number is seconds', () => {
    expect([parseDuration('250ms'), parseDuration('2s'), parseDuration('1.5m'), parseDuration('1h'), parseDuration('30d'), parseDuration('3')]).toEqual([250, 2_000, 90_000, 3_600_000, 2_592_000_000, 3_000]);
    for (const bad of ['0', '0ms', '5 minutes', '-1s', 'soon']) expect(() => parseDuration(bad)).toThrow(InvalidArgumentError);
  });

  it('on/off for the kill switch', () => {
    expect([parseOnOff('on'), parseOnOff('OFF'), parseOnOff('true'), parseOnOff('disable')]).toEqual([true, false, true, false]);
    expect(() => parseOnOff('maybe')).toThrow(InvalidArgumentError);
  });

  it('times: ISO-8601 with a time, normalised to UTC', () => {
    expect(parseTime('2026-12-01T10:30:00+01:00')).toBe('2026-12-01T09:30:00.000Z');
    for (const bad of ['2026-12-01', 'yesterday', '2026-13-45T99:99']) expect(() => parseTime(bad)).toThrow(InvalidArgumentError);
  });

  it('repeatable name=value attributes keep = in the value', () => {
    expect(collectAttribute('b=x=y', collectAttribute('plan=pro'))).toEqual({ plan: 'pro', b: 'x=y' });
    expect(() => collectAttribute('=x')).toThrow(InvalidArgumentError);
    expect(() => collectAttribute('plan')).toThrow(InvalidArgumentError);
  });

  it('JSON bodies must be objects; idempotency keys printable ASCII up to 200', () => {
    expect(parseJsonObject('{"name":"a"}')).toEqual({ name: 'a' });
    for (const bad of ['[1]', '"a"', 'null', '{oops']) expect(() => parseJsonObject(bad)).toThrow(InvalidArgumentError);
    expect(parseIdempotencyKey('drill-2026-12-01')).toBe('drill-2026-12-01');
    for (const bad of ['', 'has space', 'x'.repeat(201), 'é']) expect(() => parseIdempotencyKey(bad)).toThrow(InvalidArgumentError);
  });
});
