// Reads one of the node's security files, turning a failure into one line that says which
// file (and what it was for) could not be read: the operator's first question.
import { readFile } from 'node:fs/promises'

export async function readNamedFile(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new Error(`cannot read ${what} file ${path}${code === 'ENOENT' ? ': no such file' : `: ${(err as Error).message}`}`)
  }
}
