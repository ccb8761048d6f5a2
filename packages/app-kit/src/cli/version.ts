// The app's version for the health protocol: the nearest package.json above the entry script.
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { dirname, join } from 'node:path'

export function appVersion(entry: string | undefined = process.argv[1]): string {
  if (entry === undefined) return 'unknown'
  let dir: string
  try {
    dir = dirname(realpathSync(entry))
  } catch {
    return 'unknown'
  }
  for (;;) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown }
        if (typeof pkg.version === 'string') return pkg.version
      } catch {
        return 'unknown'
      }
    }
    const parent = dirname(dir)
    if (parent === dir) return 'unknown'
    dir = parent
  }
}
