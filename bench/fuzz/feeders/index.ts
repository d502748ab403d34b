// Every transport the fuzzer can feed a live broker through, by the name --transport takes.
import type { Feeder } from './feeder'
import { tcpFeeder } from './tcp'
import { webSocketFeeder } from './websocket'

export const FEEDERS: Readonly<Record<string, Feeder>> = { tcp: tcpFeeder, websockets: webSocketFeeder }
