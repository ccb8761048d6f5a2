// How hypha-inspect prints, in the manner of kubectl: aligned tables on a terminal, JSON when
// asked (--json), colour only on a terminal and never with NO_COLOR, one-line errors on stderr.

export interface Output {
  /** Colour allowed: stdout is a TTY and NO_COLOR is unset (https://no-color.org). */
  colour: boolean
  tty: boolean
  write(text: string): void
  error(text: string): void
}

export function processOutput(env: NodeJS.ProcessEnv = process.env): Output {
  const tty = process.stdout.isTTY === true
  return {
    tty,
    colour: tty && (env.NO_COLOR === undefined || env.NO_COLOR === '') && env.TERM !== 'dumb',
    write: (text) => process.stdout.write(text),
    error: (text) => process.stderr.write(text),
  }
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const
export type Colour = keyof typeof CODES

export function paint(output: Output, colour: Colour, text: string): string {
  return output.colour ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text
}

/** Visible width: ANSI colour codes take no room. */
function width(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character is what is stripped
  return [...text.replace(/\u001b\[[0-9;]*m/g, '')].length
}

/** Columns padded to the widest cell, two spaces apart, headers upper-case (kubectl's style). */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))))
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - width(cell))))
      .join('  ')
      .trimEnd()
  return `${[line(headers.map((h) => h.toUpperCase())), ...rows.map(line)].join('\n')}\n`
}

/** A progress bar of `size` cells: [#####-----]  50%. */
export function progressBar(fraction: number | undefined, size = 20): string {
  if (fraction === undefined) return `[${'-'.repeat(size)}]    ?`
  const clamped = Math.min(1, Math.max(0, fraction))
  const filled = Math.round(clamped * size)
  return `[${'#'.repeat(filled)}${'-'.repeat(size - filled)}] ${`${Math.round(clamped * 100)}%`.padStart(4)}`
}

/** "12D3Ko…xyzxyz": enough of a peer id to tell peers apart in a table. */
export function shortId(id: string | null | undefined): string {
  if (id === undefined || id === null || id === '') return '-'
  return id.length <= 16 ? id : `${id.slice(0, 6)}…${id.slice(-6)}`
}

/** "4 s", "3 min", "2 h", "5 d" since an ISO time or epoch ms. */
export function age(since: string | number, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - (typeof since === 'number' ? since : Date.parse(since))) / 1000))
  if (seconds < 90) return `${seconds} s`
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)} h`
  return `${Math.round(seconds / 86400)} d`
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`
}
