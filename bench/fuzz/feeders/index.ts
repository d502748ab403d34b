// Every transport the fuzzer can feed a live broker through, by the name --transport takes.
// WebSocket listeners add an entry here once the engine serves them.
import type { Feeder } from './feeder'
import { tcpFeeder } from './tcp'

export const FEEDERS: Readonly<Record<string, Feeder>> = { tcp: tcpFeeder }
