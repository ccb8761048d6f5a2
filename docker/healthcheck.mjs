// Container HEALTHCHECK: GET /health/ready on the app's own HTTP port (from HYPHA_HTTP__LISTEN).
// Exit 0 when ready, 1 otherwise (Docker's contract).
const listen = process.env.HYPHA_HTTP__LISTEN ?? '0.0.0.0:8080'
const port = listen.slice(listen.lastIndexOf(':') + 1)
try {
  const response = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(2_500) })
  if (response.status !== 200) {
    console.error(`not ready (${response.status}): ${(await response.text()).slice(0, 500)}`)
    process.exit(1)
  }
} catch (err) {
  console.error(`no answer on port ${port}: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
}
