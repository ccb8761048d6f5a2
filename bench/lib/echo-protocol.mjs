// The request/response protocol of the latency benchmark: a small echo.
import { defineProtocol } from '@hypha/network-core'
import { z } from 'zod'

const message = z.object({ seq: z.number().int(), text: z.string().max(256) })
export const Echo = defineProtocol('/hypha-bench/echo/1.0.0', { request: message, response: message })

/** The same echo on a stock js-libp2p node: a stream per request, one length-prefixed JSON message each way. */
export const STOCK_ECHO_PROTOCOL = '/hypha-bench/stock-echo/1.0.0'
