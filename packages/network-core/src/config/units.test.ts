// Tests of duration, size and rate parsing, including the edge cases the config rejects
// (quoted bare numbers, negative values, unknown units, floats where integers are required).
import { parseDuration, parseRate, parseSize } from './units.js'

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
    ['1.5s', 1_500],
    [' 10s ', 10_000],
    ['10 s', 10_000],
    ['0s', 0],
    [0, 0],
    [2500, 2500],
  ])('%p -> %p ms', (input, expected) => {
    expect(parseDuration(input)).toBe(expected)
  })

  it.each([
    ['10'],
    ['10 seconds'],
    ['-1s'],
    ['1.5'],
    [''],
    ['s'],
    ['10S'],
    ['1w'],
    [-5],
    [1.5],
    [true],
    [null],
    [Number.POSITIVE_INFINITY],
  ])('rejects %p', (input) => {
    expect(parseDuration(input)).toBeUndefined()
  })
})

describe('parseSize', () => {
  it.each([
    ['64KiB', 65_536],
    ['4MiB', 4_194_304],
    ['1GiB', 1_073_741_824],
    ['1MB', 1_000_000],
    ['1kb', 1_000],
    ['512B', 512],
    ['1.5KiB', 1_536],
    ['2 TiB', 2 * 2 ** 40],
    [0, 0],
    [4096, 4096],
  ])('%p -> %p bytes', (input, expected) => {
    expect(parseSize(input)).toBe(expected)
  })

  it.each([['4'], ['4 megabytes'], ['-1MiB'], ['MiB'], [1.5], [-1], [false], ['99999999999TiB']])('rejects %p', (input) => {
    expect(parseSize(input)).toBeUndefined()
  })
})

describe('parseRate', () => {
  it('accepts an optional /s suffix and 0 for unlimited', () => {
    expect(parseRate('10MiB/s')).toBe(10 * 2 ** 20)
    expect(parseRate('10MiB')).toBe(10 * 2 ** 20)
    expect(parseRate(0)).toBe(0)
    expect(parseRate('10MiB/h')).toBeUndefined()
  })
})
