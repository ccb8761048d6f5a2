// The scheduler's HTTP API and the nodes' endpoints, from the test's side.

export interface TaskView {
  id: string
  executor: string
  state: 'pending' | 'assigned' | 'running' | 'succeeded' | 'failed'
  worker?: string
  attempts: number
  result?: unknown
  error?: string
}

export interface PeerView {
  id: string
  addresses: string[]
  transport: string
  direct: boolean
  latencyMs: number | null
}

export async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) })
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`)
  return (await response.json()) as T
}

export async function postJson<T>(url: string, body: unknown, timeoutMs = 120_000): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`POST ${url}: ${response.status} ${text}`)
  return JSON.parse(text) as T
}

/** POST /peers/:id/link's answer (app-kit's LinkView). */
export interface LinkView {
  peer: string
  direct: boolean
  transport: string
  address: string
  durationMs: number
  holePunch: { outcome: string; role: string; attempts: number; durationMs: number; address?: string; reason?: string } | null
  probe: { bytes: number; sha256: string; remoteSha256: string; matches: boolean; durationMs: number; mibPerSecond: number } | null
}

export async function submit(scheduler: string, body: unknown): Promise<string> {
  const response = await fetch(`${scheduler}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  })
  const text = await response.text()
  if (response.status !== 201) throw new Error(`POST /tasks: ${response.status} ${text}`)
  return (JSON.parse(text) as { id: string }).id
}

/** Polls until `probe` returns a value; no fixed sleeps. */
export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms
  let lastError: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (err) {
      lastError = err
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}${lastError instanceof Error ? ` (last error: ${lastError.message})` : ''}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

export async function waitFinished(scheduler: string, ids: readonly string[], ms: number): Promise<TaskView[]> {
  const done = new Map<string, TaskView>()
  await waitFor(
    async () => {
      for (const id of ids) {
        if (done.has(id)) continue
        const task = await getJson<TaskView>(`${scheduler}/tasks/${id}`)
        if (task.state === 'succeeded' || task.state === 'failed') done.set(id, task)
      }
      return done.size === ids.length ? true : undefined
    },
    ms,
    `${ids.length} tasks to finish`,
  )
  return ids.map((id) => done.get(id) as TaskView)
}

/** One sample of a Prometheus metric (summed over series matching `labels`). */
export async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text()
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || !/^[a-z_]+(\{| )/.test(line)) continue
    const [series, value] = [line.slice(0, line.lastIndexOf(' ')), line.slice(line.lastIndexOf(' ') + 1)]
    const metricName = series.includes('{') ? series.slice(0, series.indexOf('{')) : series
    if (metricName !== name) continue
    if (Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`))) sum += Number(value)
  }
  return sum
}
