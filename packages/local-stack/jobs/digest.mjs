// A job of the local stack's `digest` executor: the size and sha256 of its input, with progress
// sent over the job bridge. Any program can be a job; this one is JavaScript only because Node.js
// is the one interpreter every machine running the stack has (docs/services.md shows the same in
// Python and shell).
import { createHash } from 'node:crypto'
import { createReadStream, statSync } from 'node:fs'
import { request } from 'node:http'

/** POST /v1/progress on the job bridge (the worker's Unix socket, $HYPHA_JOB_SOCKET). */
function progress(fraction, message) {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: process.env.HYPHA_JOB_SOCKET, path: '/v1/progress', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume()
      if (res.statusCode === 204) resolve()
      else reject(new Error(`the job bridge answered ${res.statusCode}`))
    })
    req.on('error', reject)
    req.end(JSON.stringify({ fraction, message }))
  })
}

const input = process.env.HYPHA_INPUT
const size = statSync(input).size
const hash = createHash('sha256')
let seen = 0
let reported = 0
await progress(0, 'hashing')
for await (const chunk of createReadStream(input)) {
  hash.update(chunk)
  seen += chunk.byteLength
  if (seen - reported >= size / 4) {
    reported = seen
    await progress(seen / size, `${seen} of ${size} bytes`)
  }
}
await progress(1, 'hashed')
// stdout is the result (result = "json")
process.stdout.write(JSON.stringify({ bytes: size, sha256: hash.digest('hex') }))
